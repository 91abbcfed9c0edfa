"""Reads of the alerts app, always as the person they are for: the reports and the alert preferences.

A report is built *as its recipient*, through the selectors every page uses (engagement's response
metrics, policies' visible flags, the registry's governance problems, monitoring's account health),
narrowed to one unit the recipient can see: a supervisor's digest holds their subtree and nothing above
or beside it, because those selectors never return it to them.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING

from django.db.models import Count, Q
from django.utils import timezone

from accounts_registry.capabilities import Action, roles_allowing
from accounts_registry.models import OrgUnit
from accounts_registry.selectors import get_unit_for_user, unit_paths, user_scope
from alerts.models import ALERT_KINDS, AlertKind, AlertPreference, Timing
from engagement.selectors.metrics import Metrics, response_metrics
from monitoring.daily_sums import subtree_activity
from monitoring.selectors import AttentionRow, accounts_needing_attention
from policies.models import PolicyRule
from policies.selectors import visible_flags

if TYPE_CHECKING:
    from accounts_registry.selectors import AnyUser


class ReportKind:
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    CHOICES = ((WEEKLY, "Weekly digest"), (MONTHLY, "Monthly report"))


@dataclasses.dataclass(frozen=True)
class Period:
    start: datetime.datetime
    end: datetime.datetime

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> datetime.date:
        return timezone.localdate(self.end - datetime.timedelta(seconds=1))

    def previous(self) -> Period:
        if self.days >= 28:  # a calendar month: the month before
            first = timezone.localdate(self.start)
            before = (first - datetime.timedelta(days=1)).replace(day=1)
            return Period(_midnight(before), self.start)
        return Period(self.start - (self.end - self.start), self.start)


def _midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def report_period(kind: str, *, now: datetime.datetime | None = None) -> Period:
    """The last complete week (Monday to Sunday) or calendar month before `now`."""
    today = timezone.localdate(now or timezone.now())
    if kind == ReportKind.MONTHLY:
        first = today.replace(day=1)
        return Period(_midnight((first - datetime.timedelta(days=1)).replace(day=1)), _midnight(first))
    monday = today - datetime.timedelta(days=today.weekday())
    return Period(_midnight(monday - datetime.timedelta(days=7)), _midnight(monday))


@dataclasses.dataclass(frozen=True)
class Figures:
    posts: int
    replies: int
    metrics: Metrics
    flags: int
    critical_flags: int


@dataclasses.dataclass(frozen=True)
class Line:
    label: str
    current: str
    previous: str
    change: str  # "+3", "-2", "" when not comparable


@dataclasses.dataclass(frozen=True)
class Report:
    kind: str
    title: str
    unit: OrgUnit
    unit_path: str
    period: Period
    previous: Period
    current_figures: Figures
    previous_figures: Figures
    lines: list[Line]
    attention: list[AttentionRow]


def _figures(user: AnyUser, unit: OrgUnit, period: Period) -> Figures:
    """The report's figures of the unit's subtree (authorized by `report_build`: the user sees all of it).
    Posts and replies are the roll-ups' sums (`monitoring.daily_sums`), as the overview shows them."""
    posts, replies, _ = subtree_activity(unit.path, timezone.localdate(period.start), period.last_day)
    in_period = Q(created_at__gte=period.start, created_at__lt=period.end)
    flags = (
        visible_flags(user)
        .filter(in_period, account__unit__path__startswith=unit.path)
        .aggregate(total=Count("pk"), critical=Count("pk", filter=Q(rule__severity=PolicyRule.Severity.CRITICAL)))
    )
    return Figures(
        posts=posts,
        replies=replies,
        metrics=response_metrics(user, unit=unit, period_days=period.days, now=period.end),
        flags=flags["total"],
        critical_flags=flags["critical"],
    )


def _number_change(current: float | None, previous: float | None, *, scale: float = 1, unit: str = "") -> str:
    if current is None or previous is None:
        return ""
    difference = round((current - previous) * scale)
    if difference == 0:
        return "no change"
    return f"{'+' if difference > 0 else '-'}{abs(difference)}{unit}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)}%"


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    hours, rest = divmod(seconds, 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min"


def _lines(current: Figures, previous: Figures) -> list[Line]:
    now_m, then_m = current.metrics, previous.metrics
    counts = [
        ("Posts", current.posts, previous.posts),
        ("Replies by our accounts", current.replies, previous.replies),
        ("Inbound messages", now_m.inbound, then_m.inbound),
        ("Questions", now_m.questions, then_m.questions),
        ("Answered", now_m.answered, then_m.answered),
        ("Still waiting (of the period)", now_m.waiting, then_m.waiting),
        ("Policy flags", current.flags, previous.flags),
        ("Critical policy flags", current.critical_flags, previous.critical_flags),
    ]
    lines = [Line(label, str(value), str(before), _number_change(value, before)) for label, value, before in counts]
    for label, value, before in (
        ("Response rate", now_m.response_rate, then_m.response_rate),
        ("Answered within target", now_m.within_target_share, then_m.within_target_share),
    ):
        lines.append(
            Line(label, _percent(value), _percent(before), _number_change(value, before, scale=100, unit=" pts"))
        )
    for label, seconds, before_seconds in (
        ("Median first response", now_m.median_first_response_seconds, then_m.median_first_response_seconds),
        ("90th percentile first response", now_m.p90_first_response_seconds, then_m.p90_first_response_seconds),
    ):
        change = _number_change(seconds, before_seconds, scale=1 / 60, unit=" min")
        lines.append(Line(label, _duration(seconds), _duration(before_seconds), change))
    return lines


def report_build(user: AnyUser, *, unit: OrgUnit | int, kind: str, now: datetime.datetime | None = None) -> Report:
    """The weekly digest or monthly report of one unit's subtree, as `user` sees it, compared with the
    period before. Raises Http404 when the unit is not visible to the user."""
    now = now or timezone.now()
    visible_unit = get_unit_for_user(user=user, pk=unit.pk if isinstance(unit, OrgUnit) else unit)
    period = report_period(kind, now=now)
    previous = period.previous()
    current_figures = _figures(user, visible_unit, period)
    previous_figures = _figures(user, visible_unit, previous)
    title = (
        f"Weekly digest, {timezone.localdate(period.start):%b %d} to {period.last_day:%b %d, %Y}"
        if kind == ReportKind.WEEKLY
        else f"Monthly report, {timezone.localdate(period.start):%B %Y}"
    )
    return Report(
        kind=kind,
        title=title,
        unit=visible_unit,
        unit_path=unit_paths([visible_unit])[visible_unit.pk],
        period=period,
        previous=previous,
        current_figures=current_figures,
        previous_figures=previous_figures,
        lines=_lines(current_figures, previous_figures),
        attention=accounts_needing_attention(user, visible_unit, now=now),
    )


# --- Preferences -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PreferenceRow:
    kind: str
    label: str
    timing: str
    can_turn_off: bool


def alert_preferences(user: AnyUser) -> list[PreferenceRow]:
    """The user's choice per kind of alert (immediately unless they chose otherwise)."""
    rows = AlertPreference.objects.filter(user_id=user.pk) if user.pk is not None else AlertPreference.objects.none()
    chosen = dict(rows.values_list("kind", "timing"))
    return [
        PreferenceRow(kind.value, kind.label, chosen.get(kind.value, Timing.IMMEDIATELY), can_turn_off(user, kind))
        for kind in ALERT_KINDS
    ]


def can_turn_off(user: AnyUser, kind: str) -> bool:
    """Everyone may turn any alert off, except possible emergencies for the roles the capabilities table
    makes receive them (comms managers)."""
    return not (kind == AlertKind.EMERGENCY and user_scope(user).roles & roles_allowing(Action.EMERGENCY_RECEIVE))
