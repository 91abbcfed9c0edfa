"""90 days of realistic history for the demo organization, so the overview has something to roll up.

Written straight to the tables (bulk_create, no platform traffic): for every active or paused account,
each past day, inbound mentions (questions, greetings, complaints, the odd crime report) with their
triage items — most answered, with first responses from minutes to a day, some handled, a few of the last
days' still waiting — and the account's own posts and replies, with likes and reposts. The corporate and
division accounts are the busiest, officers' personal accounts the quietest; weekends are quieter; a few
units are slower to answer than the rest, and about one account in eleven went quiet weeks ago (dormant;
the accounts are backdated as onboarded before the history starts). The daily statistics are then rebuilt
from those messages with `monitoring.services.activity.activity_rebuild` and the daily response statistics
with `engagement.services.daily_response.responses_rebuild`, the same definitions as ingest and triage.

Idempotent: the history is written once (its messages' ids start with HISTORY_PREFIX); today's traffic
comes from the live platform doubles.
"""

from __future__ import annotations

import dataclasses
import datetime
import random

from django.utils import timezone

from accounts_registry.models import SocialAccount
from engagement.models import TriageItem
from engagement.services.daily_response import responses_rebuild
from monitoring.models import Message
from monitoring.services.activity import activity_rebuild

HISTORY_PREFIX = "history-"
DAYS = 90
# Inbound messages per day on a weekday, by account kind.
BUSY = {SocialAccount.Kind.CORPORATE: 7.0, SocialAccount.Kind.UNIT: 1.4, SocialAccount.Kind.PERSONAL: 0.35}
TEXTS: dict[str, list[str]] = {
    TriageItem.Category.QUESTION: [
        "Is the front desk open on Sunday?",
        "How do I get a copy of a collision report?",
        "Where can I pick up a found bike?",
        "Are you hiring summer students this year?",
    ],
    TriageItem.Category.GREETING: ["Thank you for the help at the parade!", "Great work this weekend, officers."],
    TriageItem.Category.COMPLAINT: ["Cars keep speeding on our street every morning.", "Nobody called me back."],
    TriageItem.Category.CRIME: ["My bike was stolen from the rack last night."],
    TriageItem.Category.OTHER: ["Saw the cruiser at the school fair today.", "Nice photo!"],
}
POSTS = [
    "Join us at the community barbecue on Saturday.",
    "Road closure downtown for the marathon this morning.",
    "Reminder: lock your car and hide your valuables.",
    "Meet our newest recruits!",
]


@dataclasses.dataclass(frozen=True)
class HistoryReport:
    messages: int
    items: int
    account_days: int


def is_written() -> bool:
    return Message.objects.filter(external_id__startswith=HISTORY_PREFIX).exists()


def _response_seconds(rng: random.Random, *, slow: bool) -> int:
    """Minutes to a day and more: a lognormal around ~40 min (~2 h in a slow unit)."""
    return max(30, int(rng.lognormvariate(8.6 if slow else 7.8, 1.1)))


def history_write(*, today: datetime.date | None = None, seed: int = 90) -> HistoryReport | None:
    """Write the history once (None when it is there already). Call inside a transaction."""
    if is_written():
        return None
    rng = random.Random(seed)  # noqa: S311 — seeded on purpose: the same demo every time, no secret
    now = timezone.now()
    today = today or timezone.localdate(now)
    accounts = list(
        SocialAccount.objects.filter(status__in=[SocialAccount.Status.ACTIVE, SocialAccount.Status.PAUSED])
        .select_related("unit")
        .order_by("pk")
    )
    # The history is these accounts' past: they were onboarded before it starts (seed data only), so the
    # ones that went quiet are dormant by the governance rule, on the overview and in the dormant list.
    history_start = timezone.make_aware(
        datetime.datetime.combine(today - datetime.timedelta(days=DAYS + 1), datetime.time(9)),
        timezone.get_current_timezone(),
    )
    SocialAccount.objects.filter(pk__in=[account.pk for account in accounts], onboarded_at__gt=history_start).update(
        onboarded_at=history_start
    )
    tz = timezone.get_current_timezone()
    messages: list[Message] = []
    triage: list[tuple[int, str, int | None, str]] = []  # index in messages, category, seconds, status
    number = 0
    categories: list[str] = [category for category, texts in TEXTS.items() for _ in texts]
    for account in accounts:
        busy = BUSY.get(SocialAccount.Kind(account.kind), 0.5)
        slow = account.unit.name.startswith(("1", "5"))  # a few divisions lag behind, visibly on the overview
        # Some accounts went dormant: no post and no reply for the last 35 to 80 days (their mentions go unanswered).
        quiet_since = 0 if account.pk % 11 else rng.randint(35, 80)
        for offset in range(1, DAYS + 1):
            day = today - datetime.timedelta(days=offset)
            weekend = day.weekday() >= 5
            rate = busy * (0.6 if weekend else 1.0)
            midnight = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min), tz)
            is_quiet = offset < quiet_since
            for _ in range(int(rng.expovariate(1 / rate) + 0.5)):
                number += 1
                category = rng.choice(categories)
                created = midnight + datetime.timedelta(seconds=rng.randint(7 * 3600, 23 * 3600))
                messages.append(
                    _message(
                        account, number, "inbound", rng.choice(TEXTS[category]), created, author=rng.randint(1, 4000)
                    )
                )
                roll = rng.random()
                if roll < 0.82 and not is_quiet:
                    triage.append((len(messages) - 1, category, _response_seconds(rng, slow=slow), "answered"))
                elif roll < 0.95 or offset > 3:
                    triage.append((len(messages) - 1, category, None, "handled"))
                else:
                    triage.append((len(messages) - 1, category, None, "waiting"))
            if not is_quiet:
                for _ in range(int(rng.expovariate(1 / max(rate / 2, 0.15)) + 0.4)):
                    number += 1
                    created = midnight + datetime.timedelta(seconds=rng.randint(8 * 3600, 20 * 3600))
                    post = _message(account, number, "outbound", rng.choice(POSTS), created, author=0)
                    post.metrics = {"likes": int(rng.expovariate(1 / 25)), "reposts": int(rng.expovariate(1 / 4))}
                    messages.append(post)
    Message.objects.bulk_create(messages, batch_size=2000)
    replies: list[Message] = []
    items: list[TriageItem] = []
    for index, category, seconds, status in triage:
        message = messages[index]
        answered_at = message.created_at + datetime.timedelta(seconds=seconds) if seconds is not None else None
        if answered_at is not None and answered_at < now:
            number += 1
            reply = _message(message.account, number, "outbound", "Thanks, we are on it.", answered_at, author=0)
            reply.kind = Message.Kind.REPLY
            reply.conversation_id = message.conversation_id
            reply.in_reply_to_id = message.external_id
            replies.append(reply)
        else:
            seconds, answered_at, status = None, None, "waiting" if status == "answered" else status
        items.append(
            TriageItem(
                message=message,
                account_id=message.account_id,
                platform=message.platform,
                created_at=message.created_at,
                conversation_id=message.conversation_id,
                author_id=message.author_id,
                status=status,
                category=category,
                is_question=category == TriageItem.Category.QUESTION,
                priority=TriageItem.Priority.HIGH
                if category == TriageItem.Category.QUESTION
                else TriageItem.Priority.NORMAL,
                answered_at=answered_at,
                first_response_seconds=seconds,
                handled_reason=TriageItem.HandledReason.NO_REPLY_NEEDED if status == "handled" else "",
                closed_at=message.created_at + datetime.timedelta(hours=6) if status == "handled" else None,
            )
        )
    Message.objects.bulk_create(replies, batch_size=2000)
    TriageItem.objects.bulk_create(items, batch_size=2000)
    for item, reply in zip((item for item in items if item.answered_at is not None), replies, strict=True):
        item.answer = reply
    TriageItem.objects.bulk_update(
        [item for item in items if item.answered_at is not None], ["answer"], batch_size=2000
    )
    rebuilt = activity_rebuild(since=today - datetime.timedelta(days=DAYS))
    responses_rebuild(since=today - datetime.timedelta(days=DAYS))
    return HistoryReport(messages=len(messages) + len(replies), items=len(items), account_days=rebuilt.rows)


def _message(
    account: SocialAccount, number: int, direction: str, text: str, created: datetime.datetime, *, author: int
) -> Message:
    external_id = f"{HISTORY_PREFIX}{number}"
    inbound = direction == Message.Direction.INBOUND
    return Message(
        platform=account.platform,
        external_id=external_id,
        account=account,
        direction=direction,
        kind=Message.Kind.MENTION if inbound else Message.Kind.POST,
        author_id=f"resident-{author}" if inbound else (account.external_id or account.handle),
        author_handle=f"resident{author}" if inbound else account.handle,
        author_name=f"Resident {author}" if inbound else account.handle,
        text=text,
        created_at=created,
        conversation_id=external_id,
        content_hash=f"history-{number}",
    )
