import base64
import datetime

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.db import connection

from accounts_registry.crypto import decrypt_credentials, encrypt_credentials
from accounts_registry.models import AuditEvent, SocialAccount
from accounts_registry.services.accounts import (
    OnboardingRequest,
    account_onboard,
    account_set_credentials,
    account_set_status,
    credentials_rotate_keys,
    normalize_handle,
    onboarding_errors,
)
from tests.factories import MemberFactory, SocialAccountFactory, TrainingFactory

pytestmark = pytest.mark.django_db

Status = SocialAccount.Status
TOKEN = "EAAB-super-secret-token-9f8e7d"


def _personal(member, *, platform="x", handle="TPS11Casey", **kwargs):
    return OnboardingRequest(platform=platform, handle=handle, kind="personal", holder=member, **kwargs)


def _refusals(request):
    with pytest.raises(ValidationError) as caught:
        account_onboard(request=request, actor=None)
    return caught.value.messages


def _assert_nothing_written(before_accounts, before_events):
    assert SocialAccount.objects.count() == before_accounts
    assert AuditEvent.objects.filter(verb="account.onboard").count() == before_events


def _raw_ciphertext(account):
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials_ciphertext FROM accounts_registry_socialaccount WHERE id = %s", [account.pk])
        return cursor.fetchone()[0]


# --- Onboarding refusals -------------------------------------------------------------------------


def test_untrained_member_is_refused_for_that_platform(org, owner):
    member = MemberFactory.create(full_name="Casey Untrained", unit=org["11"])
    TrainingFactory.create(member=member, platforms=["facebook"])
    messages = _refusals(_personal(member, platform="x"))
    assert messages == ["Casey Untrained has no current training that authorizes X."]
    assert not SocialAccount.objects.exists()
    assert not AuditEvent.objects.exists()


def test_expired_training_is_refused(org):
    member = MemberFactory.create(full_name="Casey Lapsed", unit=org["11"])
    TrainingFactory.create(
        member=member, completed_on=datetime.date(2020, 1, 1), expires_on=datetime.date(2021, 1, 1), platforms=["x"]
    )
    assert _refusals(_personal(member)) == ["Casey Lapsed has no current training that authorizes X."]
    assert not SocialAccount.objects.exists()


def test_duplicate_handle_in_other_case_is_refused(org, north_account, north_member):
    count = SocialAccount.objects.count()
    messages = _refusals(_personal(north_member, handle="@tps11ALEX"))
    assert messages == ["tps11ALEX is already registered on X."]
    _assert_nothing_written(count, 0)


def test_same_handle_on_another_platform_is_fine(org, north_account, north_member):
    account = account_onboard(
        request=_personal(north_member, platform="instagram", handle="TPS11Alex", credentials={"access_token": TOKEN}),
        actor=None,
    )
    assert account.platform == "instagram"


def test_duplicate_external_id_is_refused(org, north_member):
    SocialAccountFactory.create(unit=org["11"], platform="x", external_id="12345")
    messages = _refusals(_personal(north_member, external_id="12345"))
    assert messages == ["External id 12345 is already registered on X."]
    assert SocialAccount.objects.count() == 1


def test_leaver_is_refused(org):
    leaver = MemberFactory.create(full_name="Lee Gone", unit=org["11"], left_on=datetime.date(2025, 6, 30))
    TrainingFactory.create(member=leaver)
    messages = _refusals(_personal(leaver))
    assert messages == ["Lee Gone left the organization on 2025-06-30; they cannot hold an account."]
    assert not SocialAccount.objects.exists()


def test_personal_account_without_holder_is_refused(org):
    request = OnboardingRequest(platform="x", handle="NorthDiv", kind="personal", unit=org["north"])
    assert _refusals(request) == [
        "A personal account needs a holder: pick the trained member who will speak through it."
    ]
    assert not SocialAccount.objects.exists()


def test_unit_account_needs_a_unit_when_it_has_no_holder(org):
    request = OnboardingRequest(platform="x", handle="NorthDiv", kind="unit")
    assert _refusals(request) == ["Choose the unit that owns this account."]


@pytest.mark.parametrize(
    ("platform", "handle"),
    [
        ("x", "this_handle_is_far_too_long"),
        ("x", "has space"),
        ("instagram", "bad/slash"),
        ("bluesky", "no-dot-here"),
        ("mastodon", "missing_instance"),
        ("facebook", "<script>alert(1)</script>"),
    ],
)
def test_invalid_handle_for_the_platform_is_refused(org, platform, handle):
    request = OnboardingRequest(platform=platform, handle=handle, kind="unit", unit=org["north"])
    (message,) = _refusals(request)
    assert "is not a valid" in message
    assert not SocialAccount.objects.exists()


def test_every_refusal_is_listed_at_once(org):
    leaver = MemberFactory.create(full_name="Lee Gone", unit=org["11"], left_on=datetime.date(2025, 6, 30))
    SocialAccountFactory.create(unit=org["11"], platform="x", handle="Taken", external_id="77")
    request = OnboardingRequest(platform="x", handle="taken", kind="personal", holder=leaver, external_id="77")
    assert len(onboarding_errors(request)) == 3


def test_unknown_credential_names_are_refused(org, north_member):
    request = _personal(
        north_member, platform="bluesky", handle="alex.bsky.social", credentials={"password": "hunter2-secret"}
    )
    (message,) = _refusals(request)
    assert message == "Bluesky accounts take no credential named password (accepted: app_password)."
    assert not SocialAccount.objects.exists()


def test_normalize_handle():
    assert normalize_handle("x", "  @TPS11Alex ") == "TPS11Alex"
    assert normalize_handle("bluesky", "@Alex.BSKY.social") == "alex.bsky.social"
    assert normalize_handle("mastodon", "@Alex@Police.Example") == "Alex@police.example"


# --- Onboarding success --------------------------------------------------------------------------


def test_onboarding_writes_one_account_and_one_audit_event_without_secret(org, owner, north_member):
    account = account_onboard(
        request=_personal(north_member, platform="facebook", handle="@TPS11Casey", credentials={"access_token": TOKEN}),
        actor=owner,
    )
    assert SocialAccount.objects.count() == 1
    assert account.handle == "TPS11Casey"
    assert account.status == Status.ACTIVE
    assert account.unit == north_member.unit
    assert account.onboarded_by == owner
    (event,) = AuditEvent.objects.all()
    assert event.verb == "account.onboard"
    assert event.actor == owner
    assert event.target_id == str(account.pk)
    assert event.after["credentials"] == ["access_token"]
    assert TOKEN not in str(event.before) + str(event.after) + event.target_repr
    assert decrypt_credentials(account.credentials_ciphertext) == {"access_token": TOKEN}


def test_facebook_without_credentials_starts_pending_with_reason(org, north_member):
    account = account_onboard(request=_personal(north_member, platform="facebook"), actor=None)
    assert account.status == Status.PENDING
    assert account.status_reason == "Waiting for credentials: access_token."
    assert account.credentials_ciphertext == ""


def test_x_needs_no_credentials_and_starts_active(org, north_member):
    account = account_onboard(request=_personal(north_member, platform="x"), actor=None)
    assert account.status == Status.ACTIVE
    assert account.status_reason == ""


def test_empty_credential_values_are_not_stored(org, north_member):
    account = account_onboard(
        request=_personal(north_member, platform="facebook", credentials={"access_token": ""}), actor=None
    )
    assert account.status == Status.PENDING
    assert account.credentials_ciphertext == ""
    assert AuditEvent.objects.get().after["credentials"] == []


def test_mastodon_instance_url_defaults_to_the_handle_domain(org, north_member, settings):
    # police.example does not resolve (no DNS in tests): the operator allowlist stands in for a public host.
    settings.CHORUS_OUTBOUND_ALLOWLIST = ["https://police.example"]
    account = account_onboard(
        request=_personal(north_member, platform="mastodon", handle="@alex@Police.Example"), actor=None
    )
    assert account.handle == "alex@police.example"
    assert account.instance_url == "https://police.example"


def test_unit_account_may_have_no_holder(org):
    account = account_onboard(
        request=OnboardingRequest(platform="x", handle="NorthDivision", kind="unit", unit=org["north"]), actor=None
    )
    assert account.holder is None
    assert account.unit == org["north"]


# --- Status transitions --------------------------------------------------------------------------


def test_allowed_transition_is_audited_with_before_and_after(org, owner, north_account):
    account_set_status(account=north_account, status=Status.PAUSED, reason="Officer on leave", actor=owner)
    north_account.refresh_from_db()
    assert north_account.status == Status.PAUSED
    assert north_account.status_reason == "Officer on leave"
    event = AuditEvent.objects.get(verb="account.status")
    assert event.before == {"status": "active", "reason": ""}
    assert event.after == {"status": "paused", "reason": "Officer on leave"}
    assert event.actor == owner


def test_setting_the_same_status_twice_is_a_no_op(org, owner, north_account):
    account_set_status(account=north_account, status=Status.ACTIVE, actor=owner)
    assert not AuditEvent.objects.exists()


def test_refused_transition_writes_nothing(org, owner, north_account):
    account_set_status(account=north_account, status=Status.RETIRED, actor=owner)
    with pytest.raises(ValidationError) as caught:
        account_set_status(account=north_account, status=Status.ACTIVE, actor=owner)
    assert caught.value.messages == ["An account that is retired cannot become active."]
    north_account.refresh_from_db()
    assert north_account.status == Status.RETIRED
    assert AuditEvent.objects.filter(verb="account.status").count() == 1


def test_pending_account_cannot_be_activated_without_its_credentials(org):
    account = SocialAccountFactory.create(unit=org["11"], platform="facebook", status=Status.PENDING)
    with pytest.raises(ValidationError, match="missing credentials"):
        account_set_status(account=account, status=Status.ACTIVE, actor=None)
    account.refresh_from_db()
    assert account.status == Status.PENDING


def test_unknown_status_is_refused(org, north_account):
    with pytest.raises(ValidationError, match="is not an account status"):
        account_set_status(account=north_account, status="hacked", actor=None)


def test_overlong_reason_is_shortened_to_fit(org, north_account):
    account_set_status(account=north_account, status=Status.PAUSED, reason="x" * 400, actor=None)
    north_account.refresh_from_db()
    assert north_account.status == Status.PAUSED
    assert north_account.status_reason == "x" * 299 + "…"
    assert AuditEvent.objects.get().after["reason"] == north_account.status_reason


# --- Credentials ---------------------------------------------------------------------------------


def test_setting_credentials_activates_a_pending_account_and_stores_only_ciphertext(org, owner):
    account = SocialAccountFactory.create(unit=org["11"], platform="facebook", status=Status.PENDING)
    updated = account_set_credentials(account=account, credentials={"access_token": TOKEN}, actor=owner)
    assert updated.status == Status.ACTIVE
    raw = _raw_ciphertext(account)
    assert raw
    assert TOKEN not in raw
    assert base64.b64encode(TOKEN.encode()).decode() not in raw
    assert base64.urlsafe_b64encode(TOKEN.encode()).decode().rstrip("=") not in raw
    assert decrypt_credentials(raw) == {"access_token": TOKEN}
    event = AuditEvent.objects.get(verb="account.credentials")
    assert event.before == {"status": "pending"}
    assert event.after == {"credentials": ["access_token"], "status": "active"}


def test_credentials_for_a_leaver_do_not_reactivate_the_account(org):
    leaver = MemberFactory.create(unit=org["11"], left_on=datetime.date(2025, 1, 1))
    account = SocialAccountFactory.create(
        unit=org["11"], platform="facebook", kind="personal", holder=leaver, status=Status.NEEDS_RECONNECT
    )
    updated = account_set_credentials(account=account, credentials={"access_token": TOKEN}, actor=None)
    assert updated.status == Status.NEEDS_RECONNECT


def test_retired_account_takes_no_credentials(org):
    account = SocialAccountFactory.create(unit=org["11"], platform="facebook", status=Status.RETIRED)
    with pytest.raises(ValidationError, match="retired"):
        account_set_credentials(account=account, credentials={"access_token": TOKEN}, actor=None)
    assert _raw_ciphertext(account) == ""


def test_empty_credentials_are_refused(org, north_account):
    with pytest.raises(ValidationError, match="Enter at least one credential"):
        account_set_credentials(account=north_account, credentials={"access_token": ""}, actor=None)


# --- Key rotation --------------------------------------------------------------------------------


def test_rotation_re_encrypts_every_row_under_the_newest_key(org, settings):
    k_old, k_new, k_lost = (Fernet.generate_key().decode() for _ in range(3))
    settings.FERNET_KEYS = [k_old]
    accounts = [
        SocialAccountFactory.create(
            unit=org["11"], platform="facebook", credentials_ciphertext=encrypt_credentials({"access_token": f"t{n}"})
        )
        for n in range(3)
    ]
    settings.FERNET_KEYS = [k_lost]
    lost = SocialAccountFactory.create(
        unit=org["11"], platform="facebook", credentials_ciphertext=encrypt_credentials({"access_token": "gone"})
    )
    settings.FERNET_KEYS = [k_new, k_old]

    result = credentials_rotate_keys(batch_size=2)

    assert result.rotated == 3
    assert result.unreadable == [lost.pk]
    settings.FERNET_KEYS = [k_new]
    for number, account in enumerate(accounts):
        account.refresh_from_db()
        assert decrypt_credentials(account.credentials_ciphertext) == {"access_token": f"t{number}"}
        assert account.status == Status.ACTIVE
    lost.refresh_from_db()
    assert lost.status == Status.NEEDS_RECONNECT
    assert lost.status_reason == "Stored credentials cannot be decrypted; enter them again."
    event = AuditEvent.objects.get(verb="account.credentials_unreadable")
    assert event.target_id == str(lost.pk)
    assert event.before["status"] == "active"

    # Running again is harmless: the unreadable row is neither re-marked nor re-audited.
    settings.FERNET_KEYS = [k_new, k_old]
    again = credentials_rotate_keys()
    assert again.rotated == 3
    assert again.unreadable == [lost.pk]
    assert AuditEvent.objects.filter(verb="account.credentials_unreadable").count() == 1
