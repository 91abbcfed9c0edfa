"""The combined X sweep: mentions and own posts of many X accounts through a few recent-search queries.

X bills every post read and caps reads per month, and per-account timelines cost two requests per
account per poll. Accounts read with the org-wide app token (no user token of their own), other than
corporate ones, are therefore swept together once their first individual poll has backfilled them:
`@a OR @b ...` and `from:a OR from:b ...` queries of at most 512 characters, one org-wide `since_id`
per stream, so a post is read once. Individual polling skips those accounts (see `SWEPT_STATES`).

Invariants: the sweep holds a lease on its SweepState row (two beats never run it at once); the
cursors advance in the same transaction as the messages; a sweep killed midway is repeated from the
old cursors and the upsert absorbs what was already stored.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts_registry.models import Platform, SocialAccount
from monitoring.connectors.base import ConnectorError, RateLimited
from monitoring.connectors.x.connector import XConnector
from monitoring.jobs import JobRecord, job_run
from monitoring.models import PollState, SweepState
from monitoring.services.ingest import activity_record_new, messages_upsert
from monitoring.services.ingest_hooks import run_ingest_hooks
from monitoring.services.polling import SWEPT_STATES, budget_stretch, skipped_items_record, usage_record

if TYPE_CHECKING:
    from monitoring.connectors.base import NormalizedMessage

logger = logging.getLogger(__name__)

SWEEP_NAME = "x-search"


def x_sweep_claim(*, now: datetime.datetime | None = None) -> bool:
    """Take the sweep's lease if it is due (a conditional UPDATE: only one claimer wins)."""
    if not settings.CHORUS_X_SEARCH_SWEEP:
        return False
    now = now or timezone.now()
    SweepState.objects.get_or_create(name=SWEEP_NAME, defaults={"next_run_at": now})
    lease_until = now + datetime.timedelta(seconds=settings.CHORUS_POLL_LEASE_SECONDS)
    claimed = (
        SweepState.objects.filter(name=SWEEP_NAME, next_run_at__lte=now)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=lease_until)
    )
    return claimed == 1


TWITTER_EPOCH_MS = 1288834974657


def _snowflake_at(moment: datetime.datetime) -> int:
    """The smallest X id a post made at `moment` can have (ids embed their creation time)."""
    return (int(moment.timestamp() * 1000) - TWITTER_EPOCH_MS) << 22


def _members() -> list[tuple[int, str, dict[str, str], datetime.datetime]]:
    states = PollState.objects.filter(SWEPT_STATES, account__status=SocialAccount.Status.ACTIVE)
    rows = states.values_list("account_id", "account__handle", "cursors", "last_success_at").order_by("account_id")
    # SWEPT_STATES requires last_success_at, so it is never None here.
    return [(account_id, handle, cursors, success) for account_id, handle, cursors, success in rows if success]


def _initial_cursor(members: list[tuple[int, str, dict[str, str], datetime.datetime]], stream: str) -> str:
    """For the first sweep: the oldest point any member was read up to — its own cursor, or, for a
    member whose stream was empty, the time of its last poll — so nothing newer is skipped."""
    points = [
        int(cursors[stream]) if str(cursors.get(stream, "")).isdigit() else _snowflake_at(last_success_at)
        for _, _, cursors, last_success_at in members
    ]
    return str(min(points))


def x_sweep_run() -> dict[str, int]:
    """Run the X sweep once (the caller holds the lease). Returns figures for the JobRun row."""
    with job_run("x_search_sweep") as job:
        state = SweepState.objects.get(name=SWEEP_NAME)
        members = _members()
        figures = {"accounts": len(members), "requests": 0, "reads": 0, "new": 0}
        if not members:
            _release(state, job, figures, success=True)
            return figures
        by_handle = {handle.lower(): account_id for account_id, handle, _, _ in members}
        handles = sorted(by_handle)
        connector = XConnector()
        cursors = dict(state.cursors)
        found: defaultdict[int, list[NormalizedMessage]] = defaultdict(list)
        try:
            for stream, search in (("mentions", connector.search_mentions), ("posts", connector.search_posts)):
                since_id = cursors.get(stream) or _initial_cursor(members, "tweets" if stream == "posts" else stream)
                per_handle, newest, requests = search(handles, since_id=since_id)
                figures["requests"] += requests
                for handle, items in per_handle.items():
                    found[by_handle[handle]].extend(items)
                if newest:
                    cursors[stream] = newest
        except RateLimited as error:
            _release(state, job, figures, success=False, error=str(error), next_run_at=error.reset_at)
            return figures
        except ConnectorError as error:
            logger.warning("X sweep failed: %s", error)
            _release(state, job, figures, success=False, error=str(error))
            return figures
        with transaction.atomic():
            new_ids: list[int] = []
            addressees: list[tuple[int, int]] = []
            for account_id, messages in found.items():
                # A post mentioning two swept accounts is found for each: the first upsert stores it, the
                # second records the other account as an addressee.
                upsert = messages_upsert(account_id=account_id, messages=messages)
                new_ids += upsert.new_ids
                addressees += upsert.addressees_added
                figures["reads"] += len(messages)
            for handle, records in connector.skipped.items():
                skipped_items_record(account_id=by_handle[handle], platform=Platform.X, records=records)
            activity_record_new(message_ids=new_ids, addressees=addressees)
            run_ingest_hooks(new_ids)
            figures["new"] = len(new_ids)
            state.cursors = cursors
            state.save(update_fields=["cursors"])
            PollState.objects.filter(account_id__in=list(by_handle.values())).update(
                last_success_at=timezone.now(), consecutive_failures=0, last_error=""
            )
            usage_record(platform=Platform.X, requests=figures["requests"], reads=figures["reads"])
            _release(state, job, figures, success=True)
        return figures


def _release(
    state: SweepState,
    job: JobRecord,
    figures: dict[str, int],
    *,
    success: bool,
    error: str = "",
    next_run_at: datetime.datetime | None = None,
) -> None:
    now = timezone.now()
    interval = datetime.timedelta(seconds=settings.CHORUS_POLL_INTERVAL * budget_stretch(Platform.X))
    state.lease_until = None
    state.next_run_at = next_run_at or now + interval
    state.last_error = error[:2000]
    fields = ["lease_until", "next_run_at", "last_error"]
    if success:
        state.last_success_at = now
        fields.append("last_success_at")
    state.save(update_fields=fields)
    job.detail = figures
    job.error = "" if success else error or "failed"
