"""Triage on ingest: open an item for every inbound message addressed to the organization, classify
it, and detect answers — all derived from messages, in bulk, idempotently.

Rules:
- An inbound message opens one item, unless its author is itself a registered org account (internal
  chatter). Outbound messages never open items.
- An item is answered by the earliest org reply (from ANY org account) that replies to it directly, or
  that replies later in the same conversation to the same author. First-response time comes from the
  platform timestamps, so a reply stored before the poll that saw the mention still counts.
- Human decisions stand: a handled or dismissed item may have its answer recorded, but its status never
  changes here. A later message from the same author in the same conversation opens a new waiting item:
  the thread is open again.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from django.db.models import Q
from django.utils import timezone

from accounts_registry.models import SocialAccount
from engagement.classify import current_classifier
from engagement.models import CategoryCorrection, TriageItem
from engagement.services.daily_response import responses_refresh
from monitoring.models import Message

if TYPE_CHECKING:
    import datetime
    from collections.abc import Iterable

    from engagement.classify import Classifier

Status = TriageItem.Status
Priority = TriageItem.Priority
REASON_LENGTH = TriageItem._meta.get_field("category_reason").max_length or 300


def priority_for(*, category: str, is_question: bool, is_corporate: bool) -> int:
    """Possible emergencies first; then questions and crime reports (someone waits for a pointer)."""
    if category == TriageItem.Category.EMERGENCY:
        return Priority.URGENT
    if is_question or is_corporate or category == TriageItem.Category.CRIME:
        return Priority.HIGH
    return Priority.NORMAL


def _org_authors(messages: Iterable[Message]) -> set[tuple[str, str]]:
    """(platform, external id) of the authors who are themselves registered org accounts."""
    pairs = {(message.platform, message.author_id) for message in messages}
    if not pairs:
        return set()
    accounts = SocialAccount.objects.filter(
        platform__in={platform for platform, _ in pairs}, external_id__in={author for _, author in pairs}
    ).values_list("platform", "external_id")
    return {(platform, external_id) for platform, external_id in accounts if external_id} & pairs


def _new_item(message: Message, classifier: Classifier) -> TriageItem:
    decision = classifier.classify(message.text)
    return TriageItem(
        message=message,
        account_id=message.account_id,
        platform=message.platform,
        created_at=message.created_at,
        conversation_id=message.conversation_id,
        author_id=message.author_id,
        category=decision.category,
        is_question=decision.is_question,
        category_reason=decision.why[:REASON_LENGTH],
        priority=priority_for(
            category=decision.category,
            is_question=decision.is_question,
            is_corporate=message.account.kind == SocialAccount.Kind.CORPORATE,
        ),
    )


def items_open(*, messages: list[Message]) -> int:
    """Open items for inbound messages that have none. Idempotent (one item per message)."""
    inbound = [message for message in messages if message.direction == Message.Direction.INBOUND]
    internal = _org_authors(inbound)
    candidates = [message for message in inbound if (message.platform, message.author_id) not in internal]
    if not candidates:
        return 0
    classifier = current_classifier()
    created = TriageItem.objects.bulk_create(
        [_new_item(message, classifier) for message in candidates], ignore_conflicts=True
    )
    return len(created)


def answers_detect(*, messages: list[Message]) -> int:
    """Mark the items these messages touch as answered where an org reply answers them. Returns how
    many items changed. Three queries whatever the batch size."""
    return len(_answers_detect(messages=messages)[1])


def _answers_detect(*, messages: list[Message]) -> tuple[list[TriageItem], list[TriageItem]]:
    """answers_detect, returning the items the messages touch (among them the items of the messages
    themselves) and those it changed."""
    conversations = {(m.platform, m.conversation_id) for m in messages if m.conversation_id}
    direct_ids = {(m.platform, m.external_id) for m in messages} | {
        (m.platform, m.in_reply_to_id) for m in messages if m.in_reply_to_id
    }
    if not conversations and not direct_ids:
        return [], []
    item_filter = Q(pk__in=[])
    reply_filter = Q(pk__in=[])
    for platform in {platform for platform, _ in conversations | direct_ids}:
        conversation_ids = [conversation for p, conversation in conversations if p == platform]
        external_ids = [external_id for p, external_id in direct_ids if p == platform]
        item_filter |= Q(platform=platform) & (
            Q(conversation_id__in=conversation_ids) | Q(message__external_id__in=external_ids)
        )
        reply_filter |= Q(platform=platform) & (
            Q(conversation_id__in=conversation_ids) | Q(in_reply_to_id__in=external_ids)
        )
    items = list(TriageItem.objects.filter(item_filter).select_related("message"))
    if not items:
        return [], []
    replies = list(
        Message.objects.filter(reply_filter, direction=Message.Direction.OUTBOUND)
        .exclude(in_reply_to_id="")
        .only("pk", "platform", "external_id", "conversation_id", "in_reply_to_id", "created_at")
        .order_by("created_at", "pk")
    )
    if not replies:
        return items, []
    parents = {
        (platform, external_id): author_id
        for platform, external_id, author_id in Message.objects.filter(
            platform__in={reply.platform for reply in replies},
            external_id__in={reply.in_reply_to_id for reply in replies},
        ).values_list("platform", "external_id", "author_id")
    }
    by_target: dict[tuple[str, str], list[Message]] = defaultdict(list)
    by_thread_author: dict[tuple[str, str, str], list[Message]] = defaultdict(list)
    for reply in replies:
        by_target[(reply.platform, reply.in_reply_to_id)].append(reply)
        replied_author = parents.get((reply.platform, reply.in_reply_to_id))
        if replied_author and reply.conversation_id:
            by_thread_author[(reply.platform, reply.conversation_id, replied_author)].append(reply)

    changed: list[TriageItem] = []
    now = timezone.now()
    for item in items:
        direct = by_target.get((item.platform, item.message.external_id), [])
        later = [
            reply
            for reply in by_thread_author.get((item.platform, item.conversation_id, item.author_id), [])
            if reply.created_at >= item.created_at
        ]
        answers = sorted(direct + later, key=lambda reply: (reply.created_at, reply.pk))
        if not answers:
            continue
        first = answers[0]
        if item.answered_at is not None and item.answered_at <= first.created_at:
            continue  # already credited to an earlier (or the same) answer
        item.answer = first
        item.answered_at = first.created_at
        item.first_response_seconds = max(int((first.created_at - item.created_at).total_seconds()), 0)
        if item.status == Status.WAITING:
            item.status = Status.ANSWERED
        item.updated_at = now
        changed.append(item)
    TriageItem.objects.bulk_update(
        changed, ["answer", "answered_at", "first_response_seconds", "status", "updated_at"], batch_size=500
    )
    return items, changed


def triage_on_ingest(message_ids: list[int]) -> None:
    """Ingest hook (CHORUS_INGEST_HOOKS): runs inside the ingest transaction on the new message ids."""
    messages = list(Message.objects.filter(pk__in=message_ids).select_related("account"))
    items_open(messages=messages)
    # The items answered-detection reads include those of the inbound messages (opened now or before).
    touched, answered = _answers_detect(messages=messages)
    inbound = {message.pk for message in messages if message.direction == Message.Direction.INBOUND}
    opened = {item.pk for item in touched if item.message_id in inbound}
    responses_refresh({*opened, *(item.pk for item in answered)})


def triage_recompute(*, since: datetime.datetime, until: datetime.datetime, batch_size: int = 2000) -> dict[str, int]:
    """Re-run triage for messages posted in [since, until): open missing items, re-classify waiting
    items with the current rules (except those a person corrected), detect answers. Human decisions are
    never changed."""
    opened = answered = reclassified = 0
    classifier = current_classifier()
    ids = list(
        Message.objects.filter(created_at__gte=since, created_at__lt=until).order_by("pk").values_list("pk", flat=True)
    )
    for start in range(0, len(ids), batch_size):
        messages = list(Message.objects.filter(pk__in=ids[start : start + batch_size]).select_related("account"))
        opened += items_open(messages=messages)
        answered += answers_detect(messages=messages)
        waiting = list(
            TriageItem.objects.filter(message__in=messages, status=Status.WAITING).select_related("message", "account")
        )
        corrected = set(CategoryCorrection.objects.filter(item__in=waiting).values_list("item_id", flat=True))
        for item in waiting:
            if item.pk in corrected:
                continue  # a person's correction stands
            decision = classifier.classify(item.message.text)
            priority = priority_for(
                category=decision.category,
                is_question=decision.is_question,
                is_corporate=item.account.kind == SocialAccount.Kind.CORPORATE,
            )
            new = (decision.category, decision.is_question, priority, decision.why[:REASON_LENGTH])
            if (item.category, item.is_question, item.priority, item.category_reason) != new:
                if (item.category, item.is_question, item.priority) != new[:3]:
                    reclassified += 1
                item.category, item.is_question, item.priority, item.category_reason = new
        TriageItem.objects.bulk_update(
            waiting, ["category", "is_question", "priority", "category_reason"], batch_size=500
        )
        responses_refresh(TriageItem.objects.filter(message__in=messages).values_list("pk", flat=True))
    return {"messages": len(ids), "opened": opened, "answered": answered, "reclassified": reclassified}
