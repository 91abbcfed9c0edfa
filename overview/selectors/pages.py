"""What the unit and account pages add: charts of daily activity, top posts, flags, poll health."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from django.db.models import Sum

from accounts_registry.models import SocialAccount
from engagement.models import Feedback
from monitoring.models import DailyActivity, Message, PollState
from monitoring.selectors import Problem, problem_q
from overview.charts import BarChart, bar_chart
from policies.models import PolicyFlag

if TYPE_CHECKING:
    import datetime
    from collections.abc import Callable

    from django.db.models import QuerySet

    from accounts_registry.models import OrgUnit
    from overview.periods import Period

RECENT_POSTS_READ = 200  # the newest outbound posts of the period among which the top ones are picked
TOP_POSTS = 5
FLAGS_SHOWN = 10
# Counts that are reach, not engagement (X's impressions): left out of a post's engagement.
NOT_ENGAGEMENT = frozenset({"impression_count", "bookmark_count"})


def engagement_of(message: Message) -> int:
    """A post's engagement: the sum of its platform counts (likes, reposts, replies, comments, shares…)."""
    metrics = message.metrics if isinstance(message.metrics, dict) else {}
    return sum(
        value
        for name, value in metrics.items()
        if name not in NOT_ENGAGEMENT and isinstance(value, int) and not isinstance(value, bool)
    )


@dataclasses.dataclass(frozen=True)
class ActivityCharts:
    posts: BarChart
    replies: BarChart
    inbound: BarChart


def activity_charts(accounts: QuerySet[SocialAccount], period: Period) -> ActivityCharts:
    """Daily posts, replies and messages received of the accounts over the period: one grouped query."""
    rows = {
        row["day"]: row
        for row in DailyActivity.objects.filter(account__in=accounts, day__gte=period.start, day__lte=period.end)
        .values("day")
        .annotate(posts_sum=Sum("posts"), replies_sum=Sum("replies"), inbound_sum=Sum("inbound"))
        .order_by()
    }

    def series(pick: Callable[[Any], int | None]) -> list[tuple[datetime.date, float | None]]:
        return [(day, float(pick(rows[day]) or 0) if day in rows else 0.0) for day in period.day_list()]

    return ActivityCharts(
        posts=bar_chart("Posts", series(lambda row: row["posts_sum"]), unit="posts"),
        replies=bar_chart("Replies", series(lambda row: row["replies_sum"]), unit="replies"),
        inbound=bar_chart("Messages received", series(lambda row: row["inbound_sum"]), unit="messages"),
    )


@dataclasses.dataclass(frozen=True)
class TopPost:
    message: Message
    engagement: int


def top_posts(accounts: QuerySet[SocialAccount], period: Period, *, now: datetime.datetime) -> list[TopPost]:
    """The period's most engaging outbound posts of the accounts (among its newest RECENT_POSTS_READ), public only."""
    start, end = period.bounds(now=now)
    posts = list(
        Message.objects.filter(
            account__in=accounts,
            direction=Message.Direction.OUTBOUND,
            created_at__gte=start,
            created_at__lte=end,
            visibility=Message.Visibility.PUBLIC,
        )
        .select_related("account")
        .order_by("-created_at")[:RECENT_POSTS_READ]
    )
    ranked = sorted((TopPost(post, engagement_of(post)) for post in posts), key=lambda top: -top.engagement)
    return [top for top in ranked[:TOP_POSTS] if top.engagement > 0]


def open_flags(accounts: QuerySet[SocialAccount]) -> list[PolicyFlag]:
    return list(
        PolicyFlag.objects.filter(account__in=accounts, status=PolicyFlag.Status.OPEN)
        .select_related("rule", "account")
        .order_by("-created_at")[:FLAGS_SHOWN]
    )


@dataclasses.dataclass(frozen=True)
class PollHealth:
    accounts: int
    failing: int
    reconnect: int
    stale: int
    failing_accounts: list[SocialAccount]


def poll_health(accounts: QuerySet[SocialAccount], *, now: datetime.datetime) -> PollHealth:
    """The health page's problems, counted over the accounts (two queries)."""
    live = accounts.exclude(status=SocialAccount.Status.RETIRED)
    counts = {problem: live.filter(problem_q(problem, now=now)).count() for problem in Problem.ALL}
    return PollHealth(
        accounts=live.count(),
        failing=counts[Problem.FAILING],
        reconnect=counts[Problem.NEEDS_RECONNECT],
        stale=counts[Problem.STALE],
        failing_accounts=list(
            live.filter(problem_q(Problem.FAILING, now=now) | problem_q(Problem.NEEDS_RECONNECT, now=now))
            .select_related("poll_state")
            .order_by("platform", "handle")[:FLAGS_SHOWN]
        ),
    )


def subtree_accounts(unit: OrgUnit) -> QuerySet[SocialAccount]:
    return SocialAccount.objects.filter(unit__path__startswith=unit.path)


def account_feedback(account: SocialAccount, *, limit: int = 10) -> list[Feedback]:
    """Feedback left on the account's posts (for its holder), newest first."""
    return list(
        Feedback.objects.filter(message__account=account)
        .select_related("message", "author")
        .order_by("-created_at", "-pk")[:limit]
    )


def poll_state_of(account: SocialAccount) -> PollState | None:
    return PollState.objects.filter(account=account).first()
