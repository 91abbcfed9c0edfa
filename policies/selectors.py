"""Reads of policy flags and rules, always scoped to the acting user.

Who sees what (one rule, here):
- A flag is visible when its account is: `visible_accounts(user)` — admins, comms managers and supervisors
  see the flags of their subtree, a member sees the flags of the accounts they hold.
- A flag is reviewed (acknowledge, resolve, false positive, reopen, coaching) by the admins, comms managers
  and supervisors whose grant covers the account's unit — the registry's read roles. A member who holds
  the account sees its flags read-only (403 on every review action); anyone else gets 404.
- Rules are managed by admins: an admin of a unit manages the rules scoped to that unit's subtree, an
  admin of the whole organization (a root unit, or a superuser) also the organization-wide ones. Other
  users get 403 on the rule pages. Rule statistics count only the flags the user may see.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from accounts_registry.capabilities import Action
from accounts_registry.models import AuditEvent, OrgUnit
from accounts_registry.selectors import refused, sees_whole_organization, user_scope, visible_accounts
from common.cursors import cursor_decode, cursor_encode, integer, moment
from monitoring.models import Message
from monitoring.search import message_search
from policies.models import PolicyFlag, PolicyRule, RescanJob

if TYPE_CHECKING:
    from collections.abc import Sequence

    from accounts_registry.models import SocialAccount
    from accounts_registry.selectors import AnyUser

QUEUE_PAGE_SIZE = 50
CURSOR_SALT = "policies.queue.cursor"
THREAD_LIMIT = 100
FLAG_HISTORY_LIMIT = 20
STATS_RECENT_DAYS = 30

# The queue shows critical flags first, then warnings, then information; newest first within each.
SEVERITY_RANK = {PolicyRule.Severity.CRITICAL: 0, PolicyRule.Severity.WARNING: 1, PolicyRule.Severity.INFO: 2}


# --- Flags: visibility and access -----------------------------------------------------------------


def visible_flags(user: AnyUser) -> QuerySet[PolicyFlag]:
    return PolicyFlag.objects.filter(account__in=visible_accounts(user))


def user_can_review(user: AnyUser, account: SocialAccount, action: Action = Action.FLAG_REVIEW) -> bool:
    """The capabilities table's answer for the account's unit: admins, comms managers and supervisors
    whose grant covers it (not its holder)."""
    return user_scope(user).allows(action, account.unit.path)


def get_flag_for_user(*, user: AnyUser, pk: int, action: Action | None = None) -> PolicyFlag:
    """The flag with its rule, account (unit, holder) and message; 404 for outsiders, 403 when the
    user's role does not allow `action` (FLAG_REVIEW, COACH) on it, as for the holder of the account."""
    flag = (
        visible_flags(user)
        .select_related("rule", "account__unit", "account__holder", "message", "reviewed_by")
        .defer("account__credentials_ciphertext")
        .filter(pk=pk)
        .first()
    )
    if flag is None:
        raise refused(user=user, target_type="policy_flag", pk=pk, message="No such flag.")
    if action is not None and not user_can_review(user, flag.account, action):
        raise PermissionDenied("Only admins, comms managers and supervisors of this unit review flags.")
    return flag


def open_flag_exists(message_id: OuterRef) -> Exists:
    """EXISTS (a flag still to be dealt with, open or acknowledged, on the message): the inbox's
    "has a policy flag" filter, through monitoring.extensions (CHORUS_OPEN_FLAG_EXISTS)."""
    return Exists(
        PolicyFlag.objects.filter(
            message_id=message_id, status__in=[PolicyFlag.Status.OPEN, PolicyFlag.Status.ACKNOWLEDGED]
        )
    )


# --- The review queue ----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class QueueCursor:
    """Keyset position after the last row shown: (severity rank, posted_at, id) in the queue's order
    (`created_at` holds the row's posted_at: the post's time, the flag's for an account-level flag)."""

    rank: int
    created_at: datetime.datetime
    pk: int

    def encode(self) -> str:
        return cursor_encode([self.rank, self.created_at, self.pk], salt=CURSOR_SALT)

    @classmethod
    def decode(cls, token: str) -> QueueCursor:
        """Raises InvalidCursor (a ValueError) for anything but a queue cursor this server signed."""
        rank, created_at, pk = cursor_decode(token, salt=CURSOR_SALT, length=3)
        return cls(rank=integer(rank), created_at=moment(created_at), pk=integer(pk))


@dataclasses.dataclass(frozen=True)
class QueueFilters:
    """What the queue is narrowed to. `unit` and `account` come from the access selectors (already scoped)."""

    status: str = PolicyFlag.Status.OPEN  # "" means every status
    severity: str = ""
    rule_id: int | None = None
    unit: OrgUnit | None = None
    account: SocialAccount | None = None
    search: str = ""  # monitoring.search: the flagged post's text or author (account-level flags have neither)


def _severity_rank() -> Case:
    return Case(
        *(When(rule__severity=severity, then=Value(rank)) for severity, rank in SEVERITY_RANK.items()),
        default=Value(len(SEVERITY_RANK)),
        output_field=IntegerField(),
    )


def _filtered(user: AnyUser, filters: QueueFilters) -> QuerySet[PolicyFlag]:
    """Visible flags narrowed by everything but the status (the status tabs count over this)."""
    flags = visible_flags(user)
    if filters.severity:
        flags = flags.filter(rule__severity=filters.severity)
    if filters.rule_id is not None:
        flags = flags.filter(rule_id=filters.rule_id)
    if filters.unit is not None:
        flags = flags.filter(account__unit__path__startswith=filters.unit.path)
    if filters.account is not None:
        flags = flags.filter(account=filters.account)
    if filters.search:
        flags = flags.filter(message_search(filters.search, message="message"))
    return flags


def flag_status_counts(user: AnyUser, filters: QueueFilters) -> dict[str, int]:
    """Queue rows per status under the current filters (one query), plus "" for all of them.

    A row is a post (its flags in one status) or an account-level flag: the counts are the rows the
    tabs lead to, not the flags behind them.
    """
    aggregates = {
        status: Count("message_id", distinct=True, filter=Q(status=status))
        + Count("pk", filter=Q(status=status, message__isnull=True))
        for status in PolicyFlag.Status.values
    }
    counts = _filtered(user, filters).aggregate(**aggregates)
    counts[""] = sum(counts.values())
    return counts


@dataclasses.dataclass(frozen=True)
class QueuePage:
    flags: Sequence[PolicyFlag]
    next_cursor: str | None


def flag_queue(
    user: AnyUser, filters: QueueFilters, *, after: QueueCursor | None = None, limit: int = QUEUE_PAGE_SIZE
) -> QueuePage:
    """One page of the queue, one row per post: most severe first, newest post first within a severity
    (one query). Each row is the flag that leads its post (see _outranked_on_its_post), annotated with
    `posted_at` — the post's own time, or the flag's for an account-level flag.

    Keyset paging: a flag acknowledged on page one does not shift page two.
    """
    flags = _filtered(user, filters)
    if filters.status:
        flags = flags.filter(status=filters.status)
    ranked = flags.annotate(
        severity_rank=_severity_rank(), posted_at=Coalesce("message__created_at", "created_at")
    ).exclude(_outranked_on_its_post(filters))
    if after is not None:
        ranked = ranked.filter(
            Q(severity_rank__gt=after.rank)
            | Q(severity_rank=after.rank, posted_at__lt=after.created_at)
            | Q(severity_rank=after.rank, posted_at=after.created_at, pk__lt=after.pk)
        )
    rows = list(
        ranked.select_related("rule", "account__unit", "message")
        .defer("account__credentials_ciphertext", "rule__config", "rule__explanation", "message__metrics")
        .order_by("severity_rank", "-posted_at", "-pk")[: limit + 1]
    )
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = QueueCursor(rank=last.severity_rank, created_at=last.posted_at, pk=last.pk).encode()
    return QueuePage(flags=rows, next_cursor=next_cursor)


def _outranked_on_its_post(filters: QueueFilters) -> Exists:
    """EXISTS (another flag on the same post, in the same status and under the same rule filters, that
    comes first: more severe, or as severe and older). What is left is one flag per post and status — the
    row that stands for the post in the queue (policies.queue gathers the others)."""
    siblings = PolicyFlag.objects.filter(message_id=OuterRef("message_id"), status=OuterRef("status"))
    if filters.severity:
        siblings = siblings.filter(rule__severity=filters.severity)
    if filters.rule_id is not None:
        siblings = siblings.filter(rule_id=filters.rule_id)
    return Exists(
        siblings.annotate(sibling_rank=_severity_rank()).filter(
            Q(sibling_rank__lt=OuterRef("severity_rank"))
            | Q(sibling_rank=OuterRef("severity_rank"), pk__lt=OuterRef("pk"))
        )
    )


def queue_rule_choices(user: AnyUser) -> QuerySet[PolicyRule]:
    """Rules with at least one flag the user may see: the filter never reveals another unit's rules."""
    return (
        PolicyRule.objects.filter(Exists(visible_flags(user).filter(rule=OuterRef("pk"))))
        .only("pk", "name", "severity")
        .order_by("name")
    )


# --- One flag, in context ------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Segment:
    """A piece of a message's text; the template escapes `text` and wraps matches in <mark>."""

    text: str
    is_match: bool


def highlight_segments(text: str, spans: object) -> list[Segment]:
    """Split `text` into plain and matched segments from the flag's [[start, end], ...] spans.

    Spans are untrusted input too (stored JSON): malformed ones are ignored, out-of-range ones are clipped
    and overlapping ones merged. No markup is built here — the template autoescapes every segment.
    """
    ranges: list[tuple[int, int]] = []
    if isinstance(spans, list):
        for span in spans:
            if (
                isinstance(span, (list, tuple))
                and len(span) == 2
                and all(isinstance(bound, int) and not isinstance(bound, bool) for bound in span)
            ):
                start, end = max(0, span[0]), min(len(text), span[1])
                if start < end:
                    ranges.append((start, end))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    segments: list[Segment] = []
    position = 0
    for start, end in merged:
        if start > position:
            segments.append(Segment(text[position:start], is_match=False))
        segments.append(Segment(text[start:end], is_match=True))
        position = end
    if position < len(text) or not segments:
        segments.append(Segment(text[position:], is_match=False))
    return segments


def flag_thread(user: AnyUser, flag: PolicyFlag) -> list[Message]:
    """The flagged message's conversation (same platform and conversation id), oldest first, scoped.

    Messages of accounts the user may not see are left out. At most THREAD_LIMIT messages; the flagged
    one is always among them.
    """
    message = flag.message
    if message is None:
        return []
    if not message.conversation_id:
        return [message]
    thread = list(
        Message.objects.filter(
            platform=message.platform,
            conversation_id=message.conversation_id,
            account__in=visible_accounts(user),
        )
        .select_related("account")
        .defer("account__credentials_ciphertext", "metrics")
        .order_by("created_at", "pk")[:THREAD_LIMIT]
    )
    if all(item.pk != message.pk for item in thread):
        thread.append(message)
    return thread


def flag_history(flag: PolicyFlag) -> list[AuditEvent]:
    """The flag's review trail, newest first (the caller got the flag through get_flag_for_user)."""
    return list(
        AuditEvent.objects.filter(target_type=PolicyFlag._meta.label_lower, target_id=str(flag.pk)).order_by(
            "-created_at", "-id"
        )[:FLAG_HISTORY_LIMIT]
    )


# --- Rules ---------------------------------------------------------------------------------------


def _is_organization_admin(user: AnyUser) -> bool:
    return sees_whole_organization(user, write=True)


def user_can_manage_rules(user: AnyUser) -> bool:
    """May open the rule pages at all: an admin somewhere."""
    return user_scope(user).can_administer


def user_can_manage_rule(user: AnyUser, rule: PolicyRule) -> bool:
    if rule.unit is None:
        return _is_organization_admin(user)
    return user_scope(user).covers(rule.unit.path, write=True)


def visible_rules(user: AnyUser) -> QuerySet[PolicyRule]:
    """Rules that apply somewhere in the admin's subtree: organization-wide ones, ones on an ancestor of
    their units, and ones inside their subtree. Empty for non-admins."""
    scope = user_scope(user)
    if not scope.can_administer:
        return PolicyRule.objects.none()
    if scope.is_everything:
        return PolicyRule.objects.all()
    step = OrgUnit.steplen
    ancestors = {path[:length] for path in scope.write_paths for length in range(step, len(path), step)}
    return PolicyRule.objects.filter(
        Q(unit__isnull=True) | scope.path_q("unit__path", write=True) | Q(unit__path__in=ancestors)
    )


def get_rule_for_user(*, user: AnyUser, pk: int, write: bool = False) -> PolicyRule:
    """403 for non-admins, 404 for a rule outside the admin's reach, 403 on writes they may not make."""
    if not user_can_manage_rules(user):
        raise PermissionDenied("Rules are managed by admins.")
    rule = visible_rules(user).select_related("unit").filter(pk=pk).first()
    if rule is None:
        raise refused(user=user, target_type="policy_rule", pk=pk, message="No such rule.")
    if write and not user_can_manage_rule(user, rule):
        raise PermissionDenied("Only an admin of the whole organization changes this rule.")
    return rule


def manageable_units(user: AnyUser) -> QuerySet[OrgUnit]:
    """Units a new or edited rule may be scoped to: the admin's own subtrees."""
    return OrgUnit.objects.filter(user_scope(user).path_q("path", write=True), is_active=True).order_by("path")


def user_can_manage_organization_rules(user: AnyUser) -> bool:
    """May create or keep a rule for the whole organization (no unit)."""
    return _is_organization_admin(user)


@dataclasses.dataclass(frozen=True)
class RuleStats:
    total: int = 0
    recent: int = 0
    reviewed: int = 0
    false_positives: int = 0

    @property
    def false_positive_rate(self) -> float | None:
        """False positives among reviewed flags (acknowledged, resolved or false positive); None if none."""
        return self.false_positives / self.reviewed if self.reviewed else None

    @property
    def false_positive_percent(self) -> int | None:
        rate = self.false_positive_rate
        return None if rate is None else round(100 * rate)


def rule_stats(
    user: AnyUser, rule_ids: list[int] | None = None, *, now: datetime.datetime | None = None
) -> dict[int, RuleStats]:
    """Per rule: hits in total and in the last 30 days, reviewed flags and false positives (one query).

    Counts only the flags the user may see, so a unit admin never learns another unit's numbers.
    """
    now = now or timezone.now()
    flags = visible_flags(user)
    if rule_ids is not None:
        flags = flags.filter(rule_id__in=rule_ids)
    rows = (
        flags.values("rule_id")
        .annotate(
            total=Count("pk"),
            recent=Count("pk", filter=Q(created_at__gte=now - datetime.timedelta(days=STATS_RECENT_DAYS))),
            reviewed=Count("pk", filter=~Q(status=PolicyFlag.Status.OPEN)),
            false_positives=Count("pk", filter=Q(status=PolicyFlag.Status.FALSE_POSITIVE)),
        )
        .order_by()
    )
    return {
        row["rule_id"]: RuleStats(
            total=row["total"],
            recent=row["recent"],
            reviewed=row["reviewed"],
            false_positives=row["false_positives"],
        )
        for row in rows
    }


def get_rescan(*, user: AnyUser, rule: PolicyRule, pk: int) -> RescanJob:
    """A rescan of a rule the caller already got through get_rule_for_user and may manage; 404 otherwise.

    A rescan's figures (messages read, flags raised) cover the rule's whole scope: an admin who only sees an
    ancestor's rule applying to their subtree would learn other units' volumes from them.
    """
    job = latest_rescans(user, rule).filter(pk=pk).first()
    if job is None:
        raise Http404("No such rescan.")
    return job


def latest_rescans(user: AnyUser, rule: PolicyRule) -> QuerySet[RescanJob]:
    if not user_can_manage_rule(user, rule):
        return RescanJob.objects.none()
    return RescanJob.objects.filter(rule=rule).order_by("-created_at", "-pk")


def latest_rescan(user: AnyUser, rule: PolicyRule) -> RescanJob | None:
    """The rule's latest rescan, for who may manage the rule (see get_rescan); None for everyone else."""
    return latest_rescans(user, rule).first()
