"""Evaluating messages against the policy: on ingest (in bulk) and for rescans of history.

Re-evaluation never duplicates a flag: the unique constraint (one flag per rule and message) and
bulk_create(ignore_conflicts=True) keep the first one — and with it the reviewer's decision on it.
A flag records the rule, the message and its account, the matched spans (offsets into the message
text) and an excerpt (up to 300 characters around the first match).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.utils import timezone

from monitoring.models import Message
from policies.engine import current_engine, excerpt_for
from policies.models import PolicyFlag

if TYPE_CHECKING:
    from collections.abc import Sequence

    from policies.engine import Engine

logger = logging.getLogger(__name__)


def messages_evaluate(*, messages: Sequence[Message], engine: Engine | None = None) -> int:
    """Flag what breaks the rules among these messages (their `account.unit` loaded). Returns how many
    flags this call created (a message already flagged by a rule is not flagged by it again).

    `engine`: the current engine of the enabled rules by default; a rescan passes the engine of one rule.
    Queries: the engine's freshness check; if anything matched, the existing flags of those messages and
    one insert. (Alerting critical flags is the alerts app's ingest hook, which runs after this one.)
    """
    engine = engine if engine is not None else current_engine()
    if not engine.specs or not messages:
        return 0
    now = timezone.now()
    flags = []
    for message in messages:
        text = message.text
        for hit in engine.evaluate(
            text,
            platform=message.platform,
            direction=message.direction,
            unit_path=message.account.unit.path,
            created_at=message.created_at,
        ):
            flags.append(
                PolicyFlag(
                    rule_id=hit.rule_id,
                    message_id=message.pk,
                    account_id=message.account_id,
                    spans=hit.spans,
                    excerpt=excerpt_for(text, hit.spans),
                    created_at=now,
                )
            )
    if not flags:
        return 0
    message_ids = {message.pk for message in messages}
    existing = set(PolicyFlag.objects.filter(message_id__in=message_ids).values_list("rule_id", "message_id"))
    flags = [flag for flag in flags if (flag.rule_id, flag.message_id) not in existing]
    # ignore_conflicts: a concurrent evaluation's flag wins; the unique constraint forbids a second one.
    PolicyFlag.objects.bulk_create(flags, ignore_conflicts=True)
    return len(flags)


def policies_on_ingest(message_ids: list[int]) -> None:
    """Ingest hook (settings.CHORUS_INGEST_HOOKS): evaluate newly stored messages against the enabled rules.

    Runs inside the ingest transaction (alerts.services.triggers.alerts_on_ingest, the next hook, alerts
    the new critical flags). With no enabled rule it costs one query.
    """
    engine = current_engine()
    if not engine.specs or not message_ids:
        return
    messages = list(
        Message.objects.filter(pk__in=message_ids)
        .select_related("account__unit")
        .defer("account__credentials_ciphertext", "metrics")
    )
    messages_evaluate(messages=messages, engine=engine)
