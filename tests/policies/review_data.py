"""Builders for the review tests: rules, messages and flags, with deterministic values.

`ingest` goes the realistic way (monitoring's upsert, then the policies ingest hook, so the engine computes
the spans); `flag_on` writes a flag row directly, for volume and for exact states.
"""

import datetime
import itertools

from monitoring.connectors.base import NormalizedMessage
from monitoring.models import Message
from monitoring.services.ingest import messages_upsert
from policies.models import PolicyFlag
from policies.services.evaluate import policies_on_ingest
from policies.services.rules import rule_create

T0 = datetime.datetime(2026, 11, 20, 15, 0, tzinfo=datetime.UTC)
HOSTILE = '<script>alert(1)</script> "><img src=x onerror=alert(1)> hx-get=/x hx-trigger=load'

_ids = itertools.count(1000)


def make_rule(name, *, kind="keywords", severity="warning", config=None, unit=None, direction="outbound", **extra):
    return rule_create(
        actor=None,
        name=name,
        explanation=f"{name}: explained in plain language.",
        kind=kind,
        config=config if config is not None else {"terms": ["confidential"], "exceptions": []},
        severity=severity,
        direction=direction,
        unit=unit,
        **extra,
    )


def make_message(
    account, text, *, minutes=0, direction="outbound", conversation="", author=None, created_at=None, **extra
):
    external_id = str(next(_ids))
    handle = author or account.handle
    return Message.objects.create(
        platform=account.platform,
        external_id=external_id,
        account=account,
        direction=direction,
        kind="post" if direction == "outbound" else "reply",
        author_id=f"author-{handle}",
        author_handle=handle,
        author_name=handle,
        text=text,
        created_at=created_at or T0 + datetime.timedelta(minutes=minutes),
        conversation_id=conversation or external_id,
        content_hash=f"hash-{external_id}",
        **extra,
    )


def flag_on(rule, account, *, message=None, spans=None, excerpt="", status="open", minutes=0, created_at=None, **extra):
    return PolicyFlag.objects.create(
        rule=rule,
        account=account,
        message=message,
        spans=spans if spans is not None else [],
        excerpt=excerpt or (message.text[:100] if message else "No post in 45 days."),
        status=status,
        created_at=created_at or T0 + datetime.timedelta(minutes=minutes),
        **extra,
    )


def ingest(account, text, *, minutes=0, direction="outbound", conversation="", in_reply_to=""):
    """Upsert one message like a poll does and run the policies hook on it; returns the stored Message."""
    external_id = str(next(_ids))
    normalized = NormalizedMessage(
        platform=account.platform,
        external_id=external_id,
        direction=direction,
        kind="post" if direction == "outbound" else "reply",
        author_id=account.external_id or f"author-{account.handle}",
        author_handle=account.handle,
        author_name=account.handle,
        text=text,
        created_at=T0 + datetime.timedelta(minutes=minutes),
        conversation_id=conversation or external_id,
        in_reply_to_id=in_reply_to,
    )
    result = messages_upsert(account_id=account.pk, messages=[normalized])
    policies_on_ingest(result.new_ids)
    return Message.objects.get(platform=account.platform, external_id=external_id)
