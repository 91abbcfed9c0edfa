"""Social accounts: onboarding, lifecycle, credentials and key rotation."""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts_registry.crypto import (
    CredentialsUnavailable,
    decrypt_credentials,
    encrypt_credentials,
    rotate_ciphertext,
)
from accounts_registry.governance import current_training_platforms
from accounts_registry.models import AuditEvent, Member, OrgUnit, Platform, SocialAccount
from accounts_registry.selectors import user_scope
from accounts_registry.services.audit import audit_event, audit_record
from common.outbound import UnsafeDestination, destination_check

if TYPE_CHECKING:
    import datetime

    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

Status = SocialAccount.Status

HANDLE_PATTERNS: dict[str, tuple[re.Pattern[str], str]] = {
    Platform.X: (re.compile(r"[A-Za-z0-9_]{1,15}"), "1 to 15 letters, digits or underscores"),
    Platform.INSTAGRAM: (re.compile(r"[A-Za-z0-9._]{1,30}"), "1 to 30 letters, digits, dots or underscores"),
    Platform.FACEBOOK: (re.compile(r"[A-Za-z0-9.\-]{1,100}"), "the Page's username or numeric id"),
    Platform.BLUESKY: (
        re.compile(r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*"),
        "a domain handle such as name.bsky.social",
    ),
    Platform.MASTODON: (re.compile(r"[A-Za-z0-9_]{1,30}@[a-z0-9.\-]+\.[a-z]{2,}"), "user@instance.example"),
}

# Credentials a platform needs before the account can be polled (X reads with the org-wide app token).
REQUIRED_CREDENTIALS: dict[str, tuple[str, ...]] = {
    Platform.X: (),
    Platform.FACEBOOK: ("access_token",),
    Platform.INSTAGRAM: ("access_token",),
    Platform.BLUESKY: ("app_password",),
    Platform.MASTODON: ("access_token",),
}

# Every credential a platform's connector understands (X: optional OAuth 2.0 user tokens).
CREDENTIAL_FIELDS: dict[str, tuple[str, ...]] = {
    Platform.X: ("access_token", "refresh_token"),
    Platform.FACEBOOK: ("access_token",),
    Platform.INSTAGRAM: ("access_token",),
    Platform.BLUESKY: ("app_password",),
    Platform.MASTODON: ("access_token",),
}

STATUS_REASON_MAX_LENGTH = SocialAccount._meta.get_field("status_reason").max_length or 300

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.PENDING: frozenset({Status.ACTIVE, Status.RETIRED}),
    Status.ACTIVE: frozenset({Status.PAUSED, Status.NEEDS_RECONNECT, Status.RETIRED}),
    Status.PAUSED: frozenset({Status.ACTIVE, Status.RETIRED}),
    Status.NEEDS_RECONNECT: frozenset({Status.ACTIVE, Status.PAUSED, Status.RETIRED}),
    Status.RETIRED: frozenset(),
}


def normalize_handle(platform: str, handle: str) -> str:
    """Strip blanks and a leading "@"; domains are case-insensitive, so lower-case them.

    Bluesky handles are domains; a Mastodon handle ends with its instance's domain.
    """
    handle = handle.strip().lstrip("@").strip()
    if platform == Platform.BLUESKY:
        return handle.lower()
    if platform == Platform.MASTODON and "@" in handle:
        user, domain = handle.split("@", 1)
        return f"{user}@{domain.lower()}"
    return handle


_PLATFORM_LABELS: dict[str, str] = {platform.value: str(platform.label) for platform in Platform}


def _platform_label(platform: str) -> str:
    return _PLATFORM_LABELS.get(platform, platform)


def handle_errors(platform: str, handle: str) -> list[str]:
    if platform not in REQUIRED_CREDENTIALS:
        return [f"“{platform}” is not a supported platform ({', '.join(Platform.values)})."]
    pattern, description = HANDLE_PATTERNS[platform]
    if not pattern.fullmatch(handle):
        return [f"“{handle}” is not a valid {Platform(platform).label} handle: expected {description}."]
    return []


def missing_credentials(platform: str, credentials: dict[str, Any]) -> list[str]:
    return [name for name in REQUIRED_CREDENTIALS.get(platform, ()) if not credentials.get(name)]


def credential_errors(platform: str, credentials: dict[str, Any]) -> list[str]:
    """Names the platform's connector would not understand (values are never part of a message)."""
    accepted = CREDENTIAL_FIELDS.get(platform, ())
    unknown = sorted(name for name in credentials if name not in accepted)
    if not unknown:
        return []
    return [
        f"{_platform_label(platform)} accounts take no credential named {', '.join(unknown)} "
        f"(accepted: {', '.join(accepted) or 'none'})."
    ]


def _filled(credentials: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in credentials.items() if value}


def initial_status(platform: str, credentials: dict[str, Any]) -> tuple[str, str]:
    """The status (and its reason) a newly onboarded account starts in, given the credentials it comes with."""
    missing = missing_credentials(platform, credentials)
    if missing:
        return Status.PENDING, f"Waiting for credentials: {', '.join(missing)}."
    return Status.ACTIVE, ""


@dataclasses.dataclass
class OnboardingRequest:
    platform: str
    handle: str
    kind: str
    unit: OrgUnit | None = None
    holder: Member | None = None
    external_id: str = ""
    instance_url: str = ""
    credentials: dict[str, Any] = dataclasses.field(default_factory=dict)


# Said of a handle, badge or external id that exists outside the actor's part of the organization: it cannot
# be used, and the message gives nothing more away (not the unit, the holder, the kind or the status).
OUT_OF_SCOPE_HINT = "it is not available to you; an administrator of the whole organization can look into it."


def _is_in_scope(actor: User | None, unit: OrgUnit) -> bool:
    """Command-line operators (no actor) see everything; a person what their grants cover."""
    return actor is None or user_scope(actor).covers(unit.path)


def onboarding_errors(
    request: OnboardingRequest, *, today: datetime.date | None = None, actor: User | None = None
) -> list[str]:
    """Every reason the request would be refused, in the words an admin needs to fix it. Reads only.

    An account already registered outside the actor's scope is refused in neutral words (OUT_OF_SCOPE_HINT).
    """
    handle = normalize_handle(request.platform, request.handle)
    label = _platform_label(request.platform)
    errors = handle_errors(request.platform, handle)
    if request.kind not in SocialAccount.Kind.values:
        errors.append(f"“{request.kind}” is not an account kind ({', '.join(SocialAccount.Kind.values)}).")
    holder = request.holder
    if request.kind == SocialAccount.Kind.PERSONAL and holder is None:
        errors.append("A personal account needs a holder: pick the trained member who will speak through it.")
    if holder is not None:
        if holder.has_left(today):
            errors.append(f"{holder.full_name} left the organization on {holder.left_on}; they cannot hold an account.")
        elif request.kind == SocialAccount.Kind.PERSONAL and request.platform not in current_training_platforms(
            holder, today=today
        ):
            errors.append(f"{holder.full_name} has no current training that authorizes {label}.")
    if request.unit is None and holder is None:
        errors.append("Choose the unit that owns this account.")
    errors += instance_url_errors(instance_url_for(request))
    errors += credential_errors(request.platform, _filled(request.credentials))
    duplicate = (
        SocialAccount.objects.annotate(handle_lower=Lower("handle"))
        .filter(platform=request.platform, handle_lower=handle.lower())
        .select_related("unit")
        .first()
        if handle
        else None
    )
    if duplicate is not None:
        errors.append(
            f"{handle} is already registered on {label}."
            if _is_in_scope(actor, duplicate.unit)
            else f"{handle} cannot be registered on {label}: {OUT_OF_SCOPE_HINT}"
        )
    same_external = (
        SocialAccount.objects.filter(platform=request.platform, external_id=request.external_id)
        .select_related("unit")
        .first()
        if request.external_id
        else None
    )
    if same_external is not None:
        errors.append(
            f"External id {request.external_id} is already registered on {label}."
            if _is_in_scope(actor, same_external.unit)
            else f"External id {request.external_id} cannot be used on {label}: {OUT_OF_SCOPE_HINT}"
        )
    return errors


def instance_url_errors(instance_url: str) -> list[str]:
    """Why a Mastodon instance URL cannot be polled (a DNS lookup: check each URL once per request)."""
    if not instance_url:
        return []
    try:
        destination_check(instance_url)
    except UnsafeDestination as refusal:
        return [f"The instance URL {instance_url} cannot be used: {refusal}."]
    return []


def instance_url_for(request: OnboardingRequest) -> str:
    """The Mastodon instance to poll: the one given, else the domain of the handle."""
    if request.instance_url or request.platform != Platform.MASTODON:
        return request.instance_url
    handle = normalize_handle(request.platform, request.handle)
    return f"https://{handle.split('@', 1)[1]}" if "@" in handle else ""


def account_build(*, request: OnboardingRequest, actor: User | None, status: str | None = None) -> SocialAccount:
    """The account an onboarding request registers, not saved and not yet checked against the registry.

    Starts pending, with the reason, when the platform needs a credential the request lacks; `status`, if
    given, overrides that (ValidationError if it is not a status, or is active without the credentials).
    """
    status_now, reason = initial_status(request.platform, request.credentials)
    if status is not None and status != status_now:
        if status not in Status.values:
            raise ValidationError(f"“{status}” is not an account status ({', '.join(Status.values)}).")
        if status == Status.ACTIVE and reason:
            raise ValidationError(f"Cannot activate {request.handle}: {reason}")
        status_now, reason = status, ""
    unit = request.unit or (request.holder.unit if request.holder else None)
    assert unit is not None  # onboarding_errors refuses a request with neither
    now = timezone.now()
    return SocialAccount(
        platform=request.platform,
        handle=request.handle,
        external_id=request.external_id or None,
        instance_url=instance_url_for(request),
        kind=request.kind,
        unit=unit,
        holder=request.holder,
        status=status_now,
        status_reason=reason,
        status_changed_at=now,
        onboarded_by=actor if actor is not None and actor.is_authenticated else None,
        onboarded_at=now,
        credentials_ciphertext=encrypt_credentials(request.credentials) if request.credentials else "",
    )


def onboard_audit_event(*, account: SocialAccount, request: OnboardingRequest, actor: User | None) -> AuditEvent:
    """The audit event of an onboarded (saved) account."""
    return audit_event(
        actor=actor,
        verb=AuditEvent.Verb.ACCOUNT_ONBOARD,
        target=account,
        unit=account.unit,
        after={
            "platform": account.platform,
            "handle": account.handle,
            "kind": account.kind,
            "unit": account.unit.name,
            "holder": request.holder.badge_number if request.holder else None,
            "status": account.status,
            "credentials": sorted(request.credentials),
        },
    )


@transaction.atomic
def account_onboard(*, request: OnboardingRequest, actor: User | None, status: str | None = None) -> SocialAccount:
    """Register an account. Raises ValidationError listing every refusal; writes nothing then.

    Personal accounts need a holder who has not left and whose training authorizes the platform.
    Accounts whose platform needs a credential they lack start pending, with the reason recorded.
    The caller decides who may onboard into which unit (views offer only units the actor administers).
    """
    request.handle = normalize_handle(request.platform, request.handle)
    request.credentials = _filled(request.credentials)
    errors = onboarding_errors(request, actor=actor if actor is not None and actor.is_authenticated else None)
    if errors:
        raise ValidationError(errors)
    account = account_build(request=request, actor=actor, status=status)
    account.full_clean()
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError as error:
        # Only a concurrent onboarding of the same handle or external id gets past the checks above.
        raise ValidationError(
            f"{request.handle} (or its external id) was registered on {_platform_label(request.platform)} "
            "by someone else just now."
        ) from error
    onboard_audit_event(account=account, request=request, actor=actor).save(force_insert=True)
    return account


@transaction.atomic
def account_set_status(*, account: SocialAccount, status: str, actor: User | None, reason: str = "") -> SocialAccount:
    """Move an account along its lifecycle. Idempotent; refuses transitions the lifecycle does not allow.

    Locks the row, so two admins changing it at once are serialized. Returns the fresh row.
    """
    if status not in Status.values:
        raise ValidationError(f"“{status}” is not an account status ({', '.join(Status.values)}).")
    reason = reason.strip()
    if len(reason) > STATUS_REASON_MAX_LENGTH:
        # Shortened, not refused: the poller passes platform error texts of any length.
        reason = reason[: STATUS_REASON_MAX_LENGTH - 1] + "…"
    account = SocialAccount.objects.select_for_update(of=("self",)).select_related("holder", "unit").get(pk=account.pk)
    if account.status == status:
        return account
    if status not in ALLOWED_TRANSITIONS.get(account.status, frozenset()):
        raise ValidationError(
            f"An account that is {account.get_status_display().lower()} cannot become {Status(status).label.lower()}."
        )
    if status == Status.ACTIVE:
        try:
            credentials = decrypt_credentials(account.credentials_ciphertext)
        except CredentialsUnavailable:
            credentials = {}
        missing = missing_credentials(account.platform, credentials)
        if missing:
            raise ValidationError(f"Cannot activate {account.handle}: missing credentials ({', '.join(missing)}).")
        if account.holder is not None and account.holder.has_left():
            raise ValidationError(f"Cannot activate {account.handle}: its holder has left the organization.")
    before = {"status": account.status, "reason": account.status_reason}
    account.status = status
    account.status_reason = reason
    account.status_changed_at = timezone.now()
    account.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
    audit_record(
        actor=actor,
        verb=AuditEvent.Verb.ACCOUNT_STATUS,
        target=account,
        unit=account.unit,
        before=before,
        after={"status": status, "reason": reason},
    )
    return account


@transaction.atomic
def account_set_credentials(
    *, account: SocialAccount, credentials: dict[str, Any], actor: User | None
) -> SocialAccount:
    """Replace the stored credentials, encrypted. The audit row names the fields, never the values.

    An account that was waiting for them (pending, or needing reconnection) becomes active, unless its
    holder has left. A retired account takes no credentials. Locks the row; returns the fresh row.
    """
    credentials = _filled(credentials)
    if not credentials:
        raise ValidationError("Enter at least one credential.")
    account = SocialAccount.objects.select_for_update(of=("self",)).select_related("holder", "unit").get(pk=account.pk)
    if account.status == Status.RETIRED:
        raise ValidationError(f"{account.handle} is retired: it takes no credentials.")
    errors = credential_errors(account.platform, credentials)
    if errors:
        raise ValidationError(errors)
    account.credentials_ciphertext = encrypt_credentials(credentials)
    fields = ["credentials_ciphertext", "updated_at"]
    previous_status = account.status
    holder_left = account.holder is not None and account.holder.has_left()
    if (
        account.status in {Status.PENDING, Status.NEEDS_RECONNECT}
        and not missing_credentials(account.platform, credentials)
        and not holder_left
    ):
        account.status, account.status_reason, account.status_changed_at = Status.ACTIVE, "", timezone.now()
        fields += ["status", "status_reason", "status_changed_at"]
    account.save(update_fields=fields)
    audit_record(
        actor=actor,
        verb=AuditEvent.Verb.ACCOUNT_CREDENTIALS,
        target=account,
        unit=account.unit,
        before={"status": previous_status},
        after={"credentials": sorted(credentials), "status": account.status},
    )
    return account


@dataclasses.dataclass(frozen=True)
class RotationResult:
    rotated: int
    unreadable: list[int]


def credentials_rotate_keys(*, actor: User | None = None, batch_size: int = 500) -> RotationResult:
    """Re-encrypt every stored credential under the newest key (CHORUS_FERNET_KEYS[0]).

    Rows that no configured key decrypts are marked needs_reconnect (an admin must re-enter them)
    instead of aborting the run. Safe to run again: rotating an up-to-date row is harmless, and a row
    already marked needs_reconnect is not marked (nor audited) twice. Locks one batch at a time.
    """
    rotated = 0
    unreadable: list[int] = []
    ids = list(SocialAccount.objects.exclude(credentials_ciphertext="").values_list("pk", flat=True).order_by("pk"))
    for start in range(0, len(ids), batch_size):
        with transaction.atomic():
            batch = (
                SocialAccount.objects.select_for_update(of=("self",))
                .select_related("unit")
                .filter(pk__in=ids[start : start + batch_size])
                .exclude(credentials_ciphertext="")
                .order_by("pk")
            )
            for account in batch:
                try:
                    account.credentials_ciphertext = rotate_ciphertext(account.credentials_ciphertext)
                except CredentialsUnavailable:
                    unreadable.append(account.pk)
                    logger.warning("account %s: credentials cannot be decrypted with the configured keys", account.pk)
                    if account.status not in {Status.RETIRED, Status.NEEDS_RECONNECT}:
                        before = {"status": account.status, "reason": account.status_reason}
                        account.status = Status.NEEDS_RECONNECT
                        account.status_reason = "Stored credentials cannot be decrypted; enter them again."
                        account.status_changed_at = timezone.now()
                        account.save(update_fields=["status", "status_reason", "status_changed_at", "updated_at"])
                        audit_record(
                            actor=actor,
                            verb=AuditEvent.Verb.ACCOUNT_CREDENTIALS_UNREADABLE,
                            target=account,
                            unit=account.unit,
                            before=before,
                            after={"status": account.status, "reason": account.status_reason},
                        )
                    continue
                account.save(update_fields=["credentials_ciphertext", "updated_at"])
                rotated += 1
    return RotationResult(rotated=rotated, unreadable=unreadable)
