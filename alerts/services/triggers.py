"""What raises alerts: the ingest hook (at once, in the poll's own transaction) and the periodic sweep.

`alerts_on_ingest` is listed in settings.CHORUS_INGEST_HOOKS after triage and policy evaluation, so the
new message ids already have their triage items and flags: a possible emergency or a critical flag is
alerted within the poll that read it, sent after that poll commits.

`alerts_sweep` (beat, every few minutes) raises what has no ingest: accounts needing reconnection or
failing too often, training expiring or expired, and critical flags and possible emergencies raised
elsewhere (governance checks, rescans, corrections) or whose alert was lost. Raising is deduplicated,
so sweeping again sends nothing twice.
"""

from __future__ import annotations

import datetime
import functools

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from accounts_registry.models import SocialAccount, Training
from alerts.services.deliveries import alerts_raise, stale_claims_reset
from alerts.services.events import account_problem_events, critical_flag_events, emergency_events, training_events
from engagement.models import TriageItem
from monitoring.jobs import job_run
from monitoring.models import PollState
from policies.models import PolicyFlag, PolicyRule

# Critical flags and waiting emergencies younger than this are (re)considered by the sweep: those raised
# elsewhere (governance checks, rescans, a category corrected to emergency) and any whose alert was lost.
LOOKBACK = datetime.timedelta(days=1)
# Expired training is alerted for this long after it lapsed (not years-old records on a first run).
EXPIRED_LOOKBACK_DAYS = 30


def alerts_on_ingest(message_ids: list[int]) -> None:
    """Ingest hook: alert possible emergencies and critical flags among the new messages."""
    items = TriageItem.objects.filter(
        message_id__in=message_ids, category=TriageItem.Category.EMERGENCY, status=TriageItem.Status.WAITING
    )
    flags = PolicyFlag.objects.filter(
        message_id__in=message_ids, rule__severity=PolicyRule.Severity.CRITICAL, status=PolicyFlag.Status.OPEN
    )
    # Most polls bring neither: the ids first, in plain queries; the rows with their relations only if any.
    emergencies = list(items.values_list("pk", flat=True))
    critical = list(flags.values_list("pk", flat=True))
    events = []
    if emergencies:
        waiting = TriageItem.objects.filter(pk__in=emergencies).select_related("account__unit", "message")
        events += emergency_events(waiting)
    if critical:
        open_flags = PolicyFlag.objects.filter(pk__in=critical).select_related("rule", "account__unit")
        events += critical_flag_events(open_flags)
    alerts_raise(events)


def alerts_sweep(*, now: datetime.datetime | None = None) -> int:
    """Raise the alerts of the current state of the organization; returns the new deliveries."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    reconnect = SocialAccount.objects.filter(status=SocialAccount.Status.NEEDS_RECONNECT).select_related(
        "unit", "holder__user"
    )
    failing = PollState.objects.filter(
        account__status=SocialAccount.Status.ACTIVE, consecutive_failures__gt=settings.CHORUS_ALERT_FAILING_POLLS
    ).select_related("account__unit", "account__holder__user")
    warning = today + datetime.timedelta(days=settings.CHORUS_TRAINING_EXPIRY_WARNING_DAYS)
    renewed = Training.objects.filter(
        member=OuterRef("member"), course=OuterRef("course"), completed_on__gt=OuterRef("completed_on")
    )
    trainings = (
        Training.objects.filter(
            expires_on__lte=warning,
            expires_on__gte=today - datetime.timedelta(days=EXPIRED_LOOKBACK_DAYS),
            member__left_on__isnull=True,
        )
        .exclude(Exists(renewed))
        .select_related("member__unit", "member__user")
    )
    flags = PolicyFlag.objects.filter(
        rule__severity=PolicyRule.Severity.CRITICAL, status=PolicyFlag.Status.OPEN, created_at__gte=now - LOOKBACK
    ).select_related("rule", "account__unit")
    emergencies = TriageItem.objects.filter(
        category=TriageItem.Category.EMERGENCY, status=TriageItem.Status.WAITING, created_at__gte=now - LOOKBACK
    ).select_related("account__unit", "message")
    with job_run("alerts_sweep") as job, transaction.atomic():
        created = alerts_raise(
            [
                *account_problem_events(reconnect, failing),
                *training_events(trainings, today=today),
                *critical_flag_events(flags),
                *emergency_events(emergencies),
            ],
            now=now,
        )
        stale = stale_claims_reset(now=now)
        if stale:
            transaction.on_commit(functools.partial(_resend, stale), robust=True)
        job.detail = {"deliveries": created, "resent": len(stale)}
    return created


def _resend(delivery_ids: list[int]) -> None:
    from alerts.tasks import send_alerts

    send_alerts.delay(delivery_ids)
