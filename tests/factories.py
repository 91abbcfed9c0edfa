"""factory-boy factories with deterministic Sequence values (no Faker, no random dates).

Dates are relative to `timezone.now()`, so a test that freezes time (time_machine) gets fixed dates and
one that does not never goes stale (training valid from ten months ago for two years).
"""

import datetime
import itertools

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from accounts_registry.models import Member, OrgUnit, Platform, Role, RoleGrant, SocialAccount, Training
from engagement.models import TriageItem
from monitoring.connectors.base import NormalizedMessage
from monitoring.models import Message
from monitoring.services.ingest import messages_upsert
from policies.models import PolicyFlag, PolicyRule
from policies.services.evaluate import policies_on_ingest
from policies.services.rules import rule_create

# The frozen "now" of the tests that stop time (conftest's `frozen_now`, time_machine elsewhere).
FROZEN_NOW = datetime.datetime(2026, 11, 20, 15, 0, tzinfo=datetime.UTC)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


def make_unit(name: str, parent: OrgUnit | None = None, kind: str = OrgUnit.Kind.UNIT) -> OrgUnit:
    """Treebeard nodes must be created through add_root/add_child, so units are not a factory."""
    if parent is None:
        return OrgUnit.objects.add_root(create_kwargs={"name": name, "kind": kind})
    parent.refresh_from_db()
    return OrgUnit.objects.add_child(parent, create_kwargs={"name": name, "kind": kind})


class MemberFactory(factory.django.DjangoModelFactory[Member]):
    class Meta:
        model = Member

    full_name = factory.Sequence(lambda n: f"Officer {n}")
    badge_number = factory.Sequence(lambda n: f"B{n:05d}")
    rank = "Constable"
    email = factory.Sequence(lambda n: f"officer{n}@police.example")


class TrainingFactory(factory.django.DjangoModelFactory[Training]):
    class Meta:
        model = Training

    member = factory.SubFactory(MemberFactory)
    course = "Social Media Spokesperson"
    completed_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=300))
    expires_on = factory.LazyAttribute(lambda training: training.completed_on + datetime.timedelta(days=730))
    platforms = factory.LazyFunction(lambda: [p.value for p in Platform])


class SocialAccountFactory(factory.django.DjangoModelFactory[SocialAccount]):
    class Meta:
        model = SocialAccount

    platform = Platform.X
    handle = factory.Sequence(lambda n: f"handle_{n}")
    kind = SocialAccount.Kind.UNIT
    status = SocialAccount.Status.ACTIVE


def grant(user, role: Role, unit: OrgUnit) -> RoleGrant:
    return RoleGrant.objects.create(user=user, role=role, unit=unit)


class MessageFactory(factory.django.DjangoModelFactory[Message]):
    """A stored message (the ingest path is tested on its own); inbound mention by default."""

    class Meta:
        model = Message

    account = factory.SubFactory(SocialAccountFactory)
    platform = factory.LazyAttribute(lambda message: message.account.platform)
    external_id = factory.Sequence(lambda n: f"m{n}")
    direction = Message.Direction.INBOUND
    kind = factory.LazyAttribute(
        lambda message: Message.Kind.POST if message.direction == Message.Direction.OUTBOUND else Message.Kind.MENTION
    )
    author_id = factory.Sequence(lambda n: f"author-{n}")
    author_handle = "dana_k"
    author_name = factory.LazyAttribute(lambda message: message.author_handle)
    text = "hello there"
    created_at = factory.LazyFunction(timezone.now)
    conversation_id = factory.LazyAttribute(lambda message: message.external_id)
    content_hash = factory.LazyAttribute(lambda message: f"hash-{message.external_id}")


class TriageItemFactory(factory.django.DjangoModelFactory[TriageItem]):
    """A triage item on an inbound message; the message's fields are set with `message__<field>`."""

    class Meta:
        model = TriageItem

    account = factory.SubFactory(SocialAccountFactory)
    message = factory.SubFactory(MessageFactory, account=factory.SelfAttribute("..account"))
    platform = factory.LazyAttribute(lambda item: item.message.platform)
    created_at = factory.LazyAttribute(lambda item: item.message.created_at)
    conversation_id = factory.LazyAttribute(lambda item: item.message.conversation_id)
    author_id = factory.LazyAttribute(lambda item: item.message.author_id)
    status = TriageItem.Status.WAITING
    handled_reason = factory.LazyAttribute(
        lambda item: TriageItem.HandledReason.NO_REPLY_NEEDED if item.status == TriageItem.Status.HANDLED else ""
    )


class PolicyRuleFactory(factory.django.DjangoModelFactory[PolicyRule]):
    """A rule row written directly; use policies.services.rules.rule_create to test validation."""

    class Meta:
        model = PolicyRule

    name = factory.Sequence(lambda n: f"Rule {n}")
    explanation = "Explained in plain language."
    kind = PolicyRule.Kind.KEYWORDS
    config = factory.LazyFunction(lambda: {"terms": ["confidential"], "exceptions": []})


class PolicyFlagFactory(factory.django.DjangoModelFactory[PolicyFlag]):
    """A flag row written directly (for volume and exact states); on a message when one is given."""

    class Meta:
        model = PolicyFlag

    rule = factory.SubFactory(PolicyRuleFactory)
    message = None
    account = factory.LazyAttribute(lambda flag: flag.message.account if flag.message else SocialAccountFactory())
    spans = factory.LazyFunction(list)
    excerpt = factory.LazyAttribute(lambda flag: flag.message.text[:100] if flag.message else "No post in 45 days.")
    created_at = factory.LazyFunction(timezone.now)


def inbox_item(
    account: SocialAccount,
    external_id: str | None = None,
    *,
    minutes_ago: int = 10,
    now: datetime.datetime = FROZEN_NOW,
    text: str = "hello there",
    author: tuple[str, str, str] = ("900", "dana_k", "Dana K"),
    conversation: str = "",
    url: str = "",
    **fields: object,
) -> TriageItem:
    """An inbound mention posted `minutes_ago` before `now`, and its triage item (written directly: the
    realistic ingest path is tested in tests/engagement/test_triage.py)."""
    created_at = now - datetime.timedelta(minutes=minutes_ago)
    message_fields: dict[str, object] = {} if external_id is None else {"external_id": external_id}
    if conversation:
        message_fields["conversation_id"] = conversation
    message = MessageFactory.create(
        account=account,
        author_id=author[0],
        author_handle=author[1],
        author_name=author[2],
        text=text,
        created_at=created_at,
        url=url,
        **message_fields,
    )
    return TriageItemFactory.create(message=message, account=account, **fields)


# --- Policy review: rules (through the service, so they are validated), messages and flags ---------

_ingested = itertools.count(1000)  # external ids of messages built here: numeric, like the platforms'

# Text that must come out escaped wherever it is shown.
HOSTILE = '<script>alert(1)</script> "><img src=x onerror=alert(1)> hx-get=/x hx-trigger=load'


def make_rule(
    name: str,
    *,
    kind: str = "keywords",
    severity: str = "warning",
    config: dict[str, object] | None = None,
    unit: OrgUnit | None = None,
    direction: str = "outbound",
    **extra: object,
) -> PolicyRule:
    return rule_create(
        actor=None,
        name=name,
        explanation=f"{name}: explained in plain language.",
        kind=kind,
        config=config if config is not None else {"terms": ["confidential"], "exceptions": []},
        severity=severity,
        direction=direction,
        unit=unit,
        **extra,  # type: ignore[arg-type]  # the keyword arguments rule_create takes
    )


def make_message(
    account: SocialAccount,
    text: str,
    *,
    minutes: int = 0,
    direction: str = "outbound",
    conversation: str = "",
    author: str | None = None,
    created_at: datetime.datetime | None = None,
    **extra: object,
) -> Message:
    """A stored message `minutes` after FROZEN_NOW, outbound (posted by the account) by default."""
    handle = author or account.handle
    fields: dict[str, object] = {"conversation_id": conversation} if conversation else {}
    return MessageFactory.create(
        external_id=str(next(_ingested)),
        account=account,
        direction=direction,
        kind=Message.Kind.POST if direction == "outbound" else Message.Kind.REPLY,
        author_id=f"author-{handle}",
        author_handle=handle,
        text=text,
        created_at=created_at or FROZEN_NOW + datetime.timedelta(minutes=minutes),
        **fields,
        **extra,
    )


def flag_on(
    rule: PolicyRule,
    account: SocialAccount,
    *,
    minutes: int = 0,
    created_at: datetime.datetime | None = None,
    **fields: object,
) -> PolicyFlag:
    """A flag row written directly (for volume and exact states), `minutes` after FROZEN_NOW."""
    return PolicyFlagFactory.create(
        rule=rule,
        account=account,
        created_at=created_at or FROZEN_NOW + datetime.timedelta(minutes=minutes),
        **fields,
    )


def ingest(
    account: SocialAccount,
    text: str,
    *,
    minutes: int = 0,
    direction: str = "outbound",
    conversation: str = "",
    in_reply_to: str = "",
) -> Message:
    """Upsert one message like a poll does and run the policies hook on it; returns the stored Message."""
    external_id = str(next(_ingested))
    normalized = NormalizedMessage(
        platform=account.platform,
        external_id=external_id,
        direction=direction,
        kind="post" if direction == "outbound" else "reply",
        author_id=account.external_id or f"author-{account.handle}",
        author_handle=account.handle,
        author_name=account.handle,
        text=text,
        created_at=FROZEN_NOW + datetime.timedelta(minutes=minutes),
        conversation_id=conversation or external_id,
        in_reply_to_id=in_reply_to,
    )
    result = messages_upsert(account_id=account.pk, messages=[normalized])
    policies_on_ingest(result.new_ids)
    return Message.objects.get(platform=account.platform, external_id=external_id)


# A fixed TOTP secret for enrolled test users (base32); codes come from `totp_code`.
TEST_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def enrol_totp(user: User, secret: str = TEST_TOTP_SECRET) -> None:
    """Give `user` an authenticator app (and recovery codes), as allauth stores them after enrolment."""
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.totp.internal.auth import TOTP

    TOTP.activate(user, secret)
    RecoveryCodes.activate(user)


def totp_code(secret: str = TEST_TOTP_SECRET, *, at: float | None = None) -> str:
    """The current code of the authenticator app (or the one at a given Unix time)."""
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return str(format_hotp_value(hotp_value(secret, int(at if at is not None else time.time()) // 30)))
