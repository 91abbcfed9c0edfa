"""Recording, deduplicating and sending alerts.

`alerts_raise` records one `AlertDelivery` per (event, recipient) inside the caller's transaction and
queues the sending after commit: rolled back, nothing is sent. The unique constraint on
(kind, event_key, recipient) makes raising idempotent — the same event raised again (a repeated poll,
the next sweep, a retried task) adds no row and sends nothing.

`alert_deliveries_send` claims pending rows (SELECT … FOR UPDATE SKIP LOCKED, then state "sending"),
sends outside any transaction and marks each row sent or failed, with an audit event. A row left in
"sending" by a killed worker is put back by the sweep (`stale_claims_reset`): a rare duplicate email
beats a lost emergency alert. Failures are recorded on the row, never raised: the task does not retry.

Each person's preference per kind decides the timing: at once, in the daily summary, or not at all —
except possible emergencies, which comms managers cannot turn off (their recipients are comms managers).
Texts are plain: excerpts of posts are untrusted and no HTML is built from them.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import logging
from collections import defaultdict
from typing import TYPE_CHECKING

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from accounts_registry.models import AuditEvent
from accounts_registry.services.audit import audit_record
from alerts.models import WEBHOOK_KINDS, WEBHOOK_RECIPIENT, AlertDelivery, AlertPreference, Timing, user_recipient
from common.outbound import outbound_session
from monitoring.jobs import job_run

if TYPE_CHECKING:
    from collections.abc import Iterable

    from accounts_registry.models import OrgUnit

logger = logging.getLogger(__name__)
STALE_CLAIM = datetime.timedelta(minutes=10)
CHANGE_PREFERENCES = "Choose which alerts you receive, and when, in Chorus under Alerts."
State = AlertDelivery.State


@dataclasses.dataclass(frozen=True)
class AlertEvent:
    """Something to tell people about, once: `key` names the event within its kind."""

    kind: str
    key: str
    unit: OrgUnit | None
    subject: str
    body: str
    user_ids: frozenset[int]
    html_body: str = ""


def _timings(user_ids: Iterable[int]) -> dict[tuple[int, str], str]:
    rows = AlertPreference.objects.filter(user_id__in=set(user_ids)).values_list("user_id", "kind", "timing")
    return {(user_id, kind): timing for user_id, kind, timing in rows}


def _initial_state(kind: str, timing: str) -> str:
    if timing == Timing.OFF and kind != "emergency":  # emergencies cannot be turned off
        return State.OFF
    if timing == Timing.DAILY:
        return State.SUMMARY
    return State.PENDING


def alerts_raise(events: Iterable[AlertEvent], *, now: datetime.datetime | None = None) -> int:
    """Record the deliveries of `events` (deduplicated) and send the immediate ones after commit.

    Returns the number of new deliveries. Queries: three, whatever the number of events and people."""
    events = list(events)
    if not events:
        return 0
    now = now or timezone.now()
    timings = _timings(user_id for event in events for user_id in event.user_ids)
    rows: list[AlertDelivery] = []
    for event in events:
        common = {
            "kind": event.kind,
            "event_key": event.key[:200],
            "unit": event.unit,
            "subject": event.subject[:300],
            "body": event.body,
            "html_body": event.html_body,
            "created_at": now,
        }
        for user_id in sorted(event.user_ids):
            timing = timings.get((user_id, event.kind), Timing.IMMEDIATELY)
            rows.append(
                AlertDelivery(
                    **common,
                    user_id=user_id,
                    recipient=user_recipient(user_id),
                    state=_initial_state(event.kind, timing),
                )
            )
        if event.kind in WEBHOOK_KINDS and settings.CHORUS_POLICY_WEBHOOK_URL:
            rows.append(AlertDelivery(**common, recipient=WEBHOOK_RECIPIENT, state=State.PENDING))
    keys = {(row.kind, row.event_key) for row in rows}
    existing = set(
        AlertDelivery.objects.filter(event_key__in={key for _, key in keys}).values_list(
            "kind", "event_key", "recipient"
        )
    )
    new_rows = [row for row in rows if (row.kind, row.event_key, row.recipient) not in existing]
    # ignore_conflicts: a concurrent raise of the same event wins; the constraint forbids a second row.
    AlertDelivery.objects.bulk_create(new_rows, ignore_conflicts=True)
    if any(row.state == State.PENDING for row in new_rows):
        transaction.on_commit(functools.partial(_queue_sending, now), robust=True)
    return len(new_rows)


def _queue_sending(created_at: datetime.datetime) -> None:
    from alerts.tasks import send_alerts

    ids = list(AlertDelivery.objects.filter(state=State.PENDING, created_at=created_at).values_list("pk", flat=True))
    if ids:
        send_alerts.delay(ids)


def _claim(delivery_ids: list[int], *, state: str) -> list[AlertDelivery]:
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            AlertDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=delivery_ids, state=state)
            .select_related("user", "unit")
            .order_by("pk")
        )
        AlertDelivery.objects.filter(pk__in=[row.pk for row in rows]).update(state=State.SENDING, claimed_at=now)
    return rows


def _email(*, to: str, subject: str, body: str, html_body: str = "") -> str:
    """Send one email; the error text, or "" when it went."""
    message = EmailMultiAlternatives(subject=subject, body=body, to=[to])
    if html_body:
        message.attach_alternative(html_body, "text/html")
    try:
        message.send()
    except OSError as error:  # SMTP errors are OSErrors
        return f"email failed: {type(error).__name__}"
    return ""


def _webhook_post(text: str) -> str:
    url = settings.CHORUS_POLICY_WEBHOOK_URL
    if not url:
        return "no webhook configured"
    try:
        # Through the outbound guard: https, a public address checked at connect time, no redirects.
        with outbound_session() as session:
            response = session.post(url, json={"text": text}, timeout=settings.CHORUS_HTTP_TIMEOUT)
        response.raise_for_status()
    except requests.RequestException as error:
        # The URL is a secret (incoming webhook URLs carry their token): record the kind of failure only.
        return f"webhook failed: {type(error).__name__}"
    return ""


def _finish(rows: list[AlertDelivery], error: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        AlertDelivery.objects.filter(pk__in=[row.pk for row in rows]).update(
            state=State.FAILED if error else State.SENT, sent_at=None if error else now, error=error[:300]
        )
        for row in rows:
            audit_record(
                actor=None,
                verb=AuditEvent.Verb.ALERT_SEND,
                target=row,
                unit=row.unit,
                after={"kind": row.kind, "event": row.event_key, "to": row.recipient, "error": error},
            )
    if error:
        logger.warning("alerts %s not delivered: %s", [row.pk for row in rows], error)


def alert_deliveries_send(*, delivery_ids: list[int]) -> int:
    """Send the pending deliveries among `delivery_ids` (others are skipped: sent already, claimed by
    another worker, in the summary, off). Returns how many were sent."""
    sent = 0
    for row in _claim(delivery_ids, state=State.PENDING):
        if row.recipient == WEBHOOK_RECIPIENT:
            error = _webhook_post(f"{row.subject}\n{row.body}")
        elif row.user is None or not row.user.email:
            error = "no email address"
        else:
            error = _email(to=row.user.email, subject=row.subject, body=row.body, html_body=row.html_body)
        _finish([row], error)
        sent += not error
    return sent


def daily_summaries_send() -> int:
    """One email per person gathering the alerts they asked to get in the daily summary. Returns the
    number of emails sent. Idempotent: a row leaves the summary once it is claimed."""
    with job_run("alerts_daily_summaries") as job:
        sent = _summaries_send()
        job.detail = {"emails": sent}
    return sent


def _summaries_send() -> int:
    waiting = AlertDelivery.objects.filter(state=State.SUMMARY).values_list("pk", "user_id")
    by_user: dict[int, list[int]] = defaultdict(list)
    for pk, user_id in waiting:
        by_user[user_id].append(pk)
    sent = 0
    users = get_user_model().objects.in_bulk(list(by_user))
    for user_id, ids in sorted(by_user.items()):
        rows = _claim(ids, state=State.SUMMARY)
        user = users.get(user_id)
        if not rows or user is None:
            continue
        if not user.email:
            _finish(rows, "no email address")
            continue
        subject = f"Chorus: your daily summary ({len(rows)} alert{'s' if len(rows) != 1 else ''})"
        body = "\n\n".join(f"{row.subject}\n{row.body}" for row in rows) + f"\n\n{CHANGE_PREFERENCES}\n"
        error = _email(to=user.email, subject=subject, body=body)
        _finish(rows, error)
        sent += not error
    return sent


def stale_claims_reset(*, now: datetime.datetime | None = None) -> list[int]:
    """Put deliveries a killed worker left "sending" back to pending; their ids (to send again)."""
    before = (now or timezone.now()) - STALE_CLAIM
    stale = AlertDelivery.objects.filter(state=State.SENDING, claimed_at__lt=before)
    ids = list(stale.values_list("pk", flat=True))
    AlertDelivery.objects.filter(pk__in=ids).update(state=State.PENDING, claimed_at=None)
    return ids
