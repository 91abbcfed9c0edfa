"""Webhook ingestion: store each verified event once, then feed it into the same path as polling.

Invariants:
- A `WebhookEvent` is unique on (source, event_id): a replayed delivery finds its event and stores nothing.
- Receiving only stores; processing happens in a task enqueued after commit with the event's id (never a
  body or a token). A replay of an event still unprocessed (its task lost, the broker down) enqueues it again.
- Events Chorus does not ingest (an unknown event type, a comment removal, an account that is not registered
  and active) are stored already processed, so the platform gets its 200 and stops retrying; polling covers
  such an account once it becomes active.
- Processing writes the messages, the daily statistics, the ingest hooks' results and `processed_at` in ONE
  transaction, holding the event's row lock: processing twice, a replay, or a poll of the same item later
  adds nothing (the upsert is keyed on the platform id and only new rows reach statistics and hooks).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from accounts_registry.models import Platform, SocialAccount
from monitoring.connectors.base import MalformedPayload
from monitoring.connectors.facebook.parse import feed_comment_message
from monitoring.connectors.x.tweets import activity_post_message
from monitoring.models import Message, WebhookEvent
from monitoring.services.ingest import activity_record_new, messages_upsert
from monitoring.services.ingest_hooks import run_ingest_hooks
from monitoring.services.polling import usage_record
from monitoring.webhooks.deliveries import SOURCE_META, SOURCE_X

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from monitoring.connectors.base import NormalizedMessage
    from monitoring.webhooks.deliveries import Delivery

logger = logging.getLogger(__name__)


def _active_accounts(deliveries: Sequence[Delivery]) -> set[tuple[str, str]]:
    """(platform, external id) of the active accounts the deliveries name, in one query."""
    external_ids = {delivery.account_external_id for delivery in deliveries if delivery.account_external_id}
    if not external_ids:
        return set()
    active = SocialAccount.objects.filter(status=SocialAccount.Status.ACTIVE, external_id__in=external_ids)
    return {(platform, external_id or "") for platform, external_id in active.values_list("platform", "external_id")}


@transaction.atomic
def webhook_deliveries_store(
    *, source: str, deliveries: Sequence[Delivery], enqueue: Callable[[int], object]
) -> list[int]:
    """Store the events of one verified delivery and enqueue each event to process, after commit.

    Idempotent: an event already stored is not stored again (only re-enqueued while unprocessed). Returns the
    ids of the events enqueued. Called by the webhook views with the processing task's `delay`.
    """
    accounts = _active_accounts(deliveries)
    now = timezone.now()
    to_process: dict[int, None] = {}  # ordered, without duplicates
    for delivery in deliveries:
        is_wanted = delivery.is_ingested and (delivery.platform, delivery.account_external_id) in accounts
        event, created = WebhookEvent.objects.get_or_create(
            source=source,
            event_id=delivery.event_id,
            defaults={"payload": delivery.payload, "processed_at": None if is_wanted else now},
        )
        if created and not is_wanted:
            logger.info("%s webhook event %s stored and ignored (not ingested or no active account)", source, event.pk)
        if event.processed_at is None:
            to_process[event.pk] = None
    for event_id in to_process:
        # Not `robust`: if the broker is down the view answers 5xx, the platform retries, and the replay
        # re-enqueues the stored event.
        transaction.on_commit(functools.partial(enqueue, event_id))
    return list(to_process)


# --- Processing ------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Target:
    platform: str
    external_id: str


def _target(event: WebhookEvent) -> _Target:
    payload: dict[str, Any] = event.payload if isinstance(event.payload, dict) else {}
    if event.source == SOURCE_X:
        event_filter = payload.get("filter")
        user_id = event_filter.get("user_id") if isinstance(event_filter, dict) else None
        return _Target(Platform.X, str(user_id or ""))
    if event.source == SOURCE_META:
        return _Target(Platform.FACEBOOK, str(payload.get("page_id") or ""))
    raise MalformedPayload(f"unknown webhook source {event.source!r}")


def _normalize(event: WebhookEvent, account: SocialAccount) -> list[NormalizedMessage]:
    payload: dict[str, Any] = event.payload
    external_id = account.external_id or ""
    if event.source == SOURCE_X:
        post = payload.get("payload")
        if not isinstance(post, dict):
            raise MalformedPayload("X activity event without a payload object")
        includes = payload.get("includes")
        message = activity_post_message(
            post, includes=includes, account_user_id=external_id, account_handle=account.handle
        )
        return [] if message is None else [message]  # a retweet is neither an own post nor a mention
    value = payload.get("value")
    if not isinstance(value, dict):
        raise MalformedPayload("Meta change without a value object")
    return [feed_comment_message(value, page_id=external_id, page_handle=account.handle)]


def _keep_stored_details(messages: list[NormalizedMessage]) -> list[NormalizedMessage]:
    """Polls are the source of truth for what a webhook carries poorly or not at all (counts, permalinks,
    handles): for a message already stored, only the text (an edit) comes from the webhook."""
    stored = {
        (platform, external_id): (handle, name, url, metrics)
        for platform, external_id, handle, name, url, metrics in Message.objects.filter(
            platform__in={message.platform for message in messages},
            external_id__in=[message.external_id for message in messages],
        ).values_list("platform", "external_id", "author_handle", "author_name", "url", "metrics")
    }
    merged = []
    for message in messages:
        if (message.platform, message.external_id) in stored:
            handle, name, url, metrics = stored[(message.platform, message.external_id)]
            message = dataclasses.replace(
                message,
                author_handle=handle or message.author_handle,
                author_name=name or message.author_name,
                url=url or message.url,
                metrics=metrics or message.metrics,
            )
        merged.append(message)
    return merged


def webhook_event_process(*, event_id: int) -> list[int]:
    """Ingest one stored webhook event like a poll ingests a page, and mark it processed. Returns the ids of
    the messages it created.

    Idempotent and safe to run concurrently: the event's row is locked and an event already processed is left
    alone. A missing event is logged and skipped. A payload that cannot be normalized is a permanent failure:
    it is logged (by event id, never the body; the row keeps the payload) and the event marked processed.
    """
    with transaction.atomic():
        event = WebhookEvent.objects.select_for_update().filter(pk=event_id, processed_at__isnull=True).first()
        if event is None:
            logger.info("webhook event %s is missing or already processed; skipped", event_id)
            return []
        new_ids: list[int] = []
        try:
            target = _target(event)
            account = SocialAccount.objects.filter(
                platform=target.platform, external_id=target.external_id, status=SocialAccount.Status.ACTIVE
            ).first()
            if account is None:
                logger.info("webhook event %s names no active account; ignored", event.pk)
            else:
                messages = _keep_stored_details(_normalize(event, account))
                upsert = messages_upsert(account_id=account.pk, messages=messages)
                activity_record_new(message_ids=upsert.new_ids, addressees=upsert.addressees_added)
                usage_record(platform=account.platform, requests=0, reads=len(messages))
                run_ingest_hooks(upsert.new_ids)
                new_ids = upsert.new_ids
        except MalformedPayload as error:
            logger.warning("webhook event %s cannot be ingested: %s", event.pk, error)
        event.processed_at = timezone.now()
        event.save(update_fields=["processed_at"])
    return new_ids
