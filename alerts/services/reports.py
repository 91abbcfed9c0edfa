"""Sending the weekly digest (each supervisor, their subtree) and the monthly report (comms managers).

Each report is built as its recipient (alerts.selectors.report_build: their scope, never more) and
delivered through `alerts_raise` like an alert: one per period, unit and person — the unique delivery
key deduplicates a re-run of the beat entry — sent after commit, with an HTML part and a plain-text part.
A person holding the role on nested units gets the report of the outermost one only.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts_registry.models import Role, RoleGrant
from alerts.models import AlertKind
from alerts.selectors import Report, ReportKind, report_build
from alerts.services.deliveries import AlertEvent, alerts_raise
from monitoring.jobs import job_run

if TYPE_CHECKING:
    import datetime

    from accounts_registry.models import OrgUnit


def report_link(report: Report) -> str:
    path = reverse("alerts:report", args=[report.unit.pk])
    return f"{settings.CHORUS_SITE_URL.rstrip('/')}{path}?kind={report.kind}"


def report_text(report: Report) -> str:
    """The plain-text part (the HTML part is alerts/report_email.html)."""
    width = max(len(line.label) for line in report.lines)
    lines = [
        report.title,
        report.unit_path,
        f"Compared with {timezone.localdate(report.previous.start)} to {report.previous.last_day}.",
        "",
        *(f"{line.label.ljust(width)}  {line.current:>12}  (before: {line.previous}{_change(line.change)})"
          for line in report.lines),
        "",
        f"Accounts needing attention: {len(report.attention)}",
        *(f"- {row.account.get_platform_display()} {row.account.handle} ({row.unit_path}): {'; '.join(row.reasons)}"
          for row in report.attention),
        "",
        f"Open it in Chorus: {report_link(report)}",
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def _change(change: str) -> str:
    return f", {change}" if change else ""


def report_html(report: Report) -> str:
    return render_to_string("alerts/report_email.html", {"report": report, "link": report_link(report)})


def _outermost_grants(role: Role) -> dict[int, list[OrgUnit]]:
    """User id → the units they hold `role` on, without those inside another of theirs."""
    grants = (
        RoleGrant.objects.filter(role=role, user__is_active=True, unit__is_active=True)
        .exclude(user__email="")
        .select_related("unit")
        .order_by("unit__path")
    )
    by_user: dict[int, list[OrgUnit]] = defaultdict(list)
    for grant in grants:
        if not any(grant.unit.path.startswith(unit.path) for unit in by_user[grant.user_id]):
            by_user[grant.user_id].append(grant.unit)
    return by_user


def _send(role: Role, kind: str, alert_kind: AlertKind, *, now: datetime.datetime) -> int:
    users = get_user_model().objects.in_bulk(list(_outermost_grants(role)))
    created = 0
    for user_id, units in sorted(_outermost_grants(role).items()):
        user = users[user_id]
        for unit in units:
            report = report_build(user, unit=unit, kind=kind, now=now)
            with transaction.atomic():
                created += alerts_raise(
                    [
                        AlertEvent(
                            kind=alert_kind,
                            key=f"{kind}:{timezone.localdate(report.period.start)}:unit:{unit.pk}",
                            unit=unit,
                            subject=f"Chorus: {report.title} — {report.unit_path}",
                            body=report_text(report),
                            html_body=report_html(report),
                            user_ids=frozenset({user_id}),
                        )
                    ],
                    now=now,
                )
    return created


def weekly_digests_send(*, now: datetime.datetime | None = None) -> int:
    """Each supervisor's digest of last week for their subtree. Returns the new deliveries."""
    with job_run("alerts_weekly_digests") as job:
        created = _send(Role.SUPERVISOR, ReportKind.WEEKLY, AlertKind.WEEKLY_DIGEST, now=now or timezone.now())
        job.detail = {"deliveries": created}
    return created


def monthly_reports_send(*, now: datetime.datetime | None = None) -> int:
    """Each comms manager's report of last month for the units they cover. Returns the new deliveries."""
    with job_run("alerts_monthly_reports") as job:
        created = _send(Role.COMMS_MANAGER, ReportKind.MONTHLY, AlertKind.MONTHLY_REPORT, now=now or timezone.now())
        job.detail = {"deliveries": created}
    return created
