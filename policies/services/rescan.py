"""Rescanning history after a rule was added or changed: a background job with progress in the database.

`rescan_request` records a RescanJob and queues the task after the transaction commits. `rescan_run`
works through the messages created in [since, until) that the rule's scope can reach, in id order, in
batches; each batch's flags and the job's progress (`processed`, `flags_created`) commit together, so a
job interrupted anywhere resumes after its last finished batch (the cursor is the `processed`-th message
id) and re-running it creates no duplicate flag. A run stops after a time slice and reports that it is not
done; the task then queues the rest (long rescans never meet the task time limit). A job without a rule
rescans with every enabled rule. Rescans do not notify: they flag history, not news.

Two workers on the same job (a redelivered task) are harmless — flags are unique — but may overcount
`flags_created`. Deleting messages inside the period while a job runs can make a resumed job skip as
many messages.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone

from accounts_registry.models import AuditEvent
from accounts_registry.services.audit import audit_record
from monitoring.models import Message
from policies.engine import Engine, RuleSpec, current_engine
from policies.models import PolicyRule, RescanJob
from policies.services.evaluate import messages_evaluate

if TYPE_CHECKING:
    import datetime

    from django.contrib.auth.models import User
    from django.db.models import QuerySet

logger = logging.getLogger(__name__)

Status = RescanJob.Status
BATCH_SIZE = 1_000
SLICE_SECONDS = 60.0


@transaction.atomic
def rescan_request(
    *, rule: PolicyRule | None, since: datetime.datetime, until: datetime.datetime, actor: User | None
) -> RescanJob:
    """Queue a rescan of the messages created in [since, until) (after commit). Refuses (ValidationError)
    an empty period, a disabled rule and governance rules (those run daily over accounts, not messages)."""
    if since >= until:
        raise ValidationError({"since": ["The period must start before it ends."]})
    if rule is not None and rule.kind == PolicyRule.Kind.GOVERNANCE:
        raise ValidationError("Governance rules check accounts every day; there is no history to rescan.")
    if rule is not None and not rule.is_enabled:
        raise ValidationError("Enable the rule before rescanning history with it.")
    job = RescanJob.objects.create(rule=rule, since=since, until=until, requested_by=actor)
    audit_record(
        actor=actor,
        verb=AuditEvent.Verb.POLICY_RESCAN,
        target=job,
        unit=rule.unit if rule is not None else None,
        after={
            "rule": rule.name if rule is not None else "(every enabled rule)",
            "since": since.isoformat(),
            "until": until.isoformat(),
        },
    )
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from policies.tasks import rescan_history

    rescan_history.delay(job_id)


def _messages(job: RescanJob) -> QuerySet[Message]:
    messages = Message.objects.filter(created_at__gte=job.since, created_at__lt=job.until)
    rule = job.rule
    if rule is None:
        return messages
    # Narrow the scan to what the rule's scope can reach; the engine checks the scope again anyway.
    if rule.platforms:
        messages = messages.filter(platform__in=rule.platforms)
    if rule.unit is not None:
        messages = messages.filter(account__unit__path__startswith=rule.unit.path)
    if rule.direction != PolicyRule.Direction.BOTH:
        messages = messages.filter(direction=rule.direction)
    return messages


def _engine(job: RescanJob) -> Engine:
    if job.rule is None:
        return current_engine()
    return Engine([RuleSpec.from_rule(job.rule)])


def rescan_run(
    *, job_id: int, batch_size: int = BATCH_SIZE, max_seconds: float = SLICE_SECONDS, max_batches: int | None = None
) -> bool:
    """Advance the job; True when it is finished (done, failed or missing), False when work remains.

    Idempotent and resumable (see the module docstring). Database outages raise, for the task to retry;
    any other error marks the job failed (with the error) and raises.
    """
    job = RescanJob.objects.select_related("rule__unit").filter(pk=job_id).first()
    if job is None:
        logger.warning("rescan job %s not found", job_id)
        return True
    if job.status in (Status.DONE, Status.FAILED):
        return True
    if job.rule is not None and not job.rule.is_enabled:
        _finish(job, status=Status.FAILED, error="The rule was disabled before the rescan finished.")
        return True
    try:
        return _advance(job, batch_size=batch_size, max_seconds=max_seconds, max_batches=max_batches)
    except (OperationalError, InterfaceError):
        raise
    except Exception as error:
        _finish(job, status=Status.FAILED, error=repr(error)[:2000])
        raise


def _advance(job: RescanJob, *, batch_size: int, max_seconds: float, max_batches: int | None) -> bool:
    messages = _messages(job).order_by("pk")
    if job.status == Status.QUEUED:
        job.total = messages.count()
        job.status = Status.RUNNING
        job.started_at = timezone.now()
        job.save(update_fields=["total", "status", "started_at"])
    engine = _engine(job)
    last_id = 0
    if job.processed:
        last_id = messages.values_list("pk", flat=True)[job.processed - 1 : job.processed].first() or 0
        if not last_id:  # fewer messages than already processed (some were deleted): nothing left
            _finish(job, status=Status.DONE)
            return True
    deadline = time.monotonic() + max_seconds
    batches = 0
    while True:
        batch = list(
            messages.filter(pk__gt=last_id)
            .select_related("account__unit")
            .defer("account__credentials_ciphertext", "metrics")[:batch_size]
        )
        if not batch:
            _finish(job, status=Status.DONE)
            return True
        with transaction.atomic():
            created = messages_evaluate(messages=batch, engine=engine)
            RescanJob.objects.filter(pk=job.pk).update(
                processed=F("processed") + len(batch), flags_created=F("flags_created") + created
            )
        last_id = batch[-1].pk
        batches += 1
        if time.monotonic() >= deadline or (max_batches is not None and batches >= max_batches):
            return False


def _finish(job: RescanJob, *, status: str, error: str = "") -> None:
    RescanJob.objects.filter(pk=job.pk).filter(Q(status=Status.QUEUED) | Q(status=Status.RUNNING)).update(
        status=status, finished_at=timezone.now(), error=error, total=Greatest(F("total"), F("processed"))
    )
