"""Reviewing flags: acknowledge, resolve, mark false positive, reopen, and coach the member.

Who may call: the caller got the flag through policies.selectors.get_flag_for_user(action=...) — an
admin, comms manager or supervisor covering the account's unit. Every change writes one audit event
("policy_flag.<action>") per flag in the same transaction, under a row lock so two reviewers cannot
overwrite each other unseen.

One review per post: a post that trips several rules has one flag per rule, and reviewing one of them
reviews the post — the action moves every flag of the post that is in the same status as the one acted
on (and each gets its own audit event, so a flag's history is whole whichever flag was acted on). Flags
of the post in another status (one reopened on its own, say) are left alone.

The states a reviewer moves a flag through:

    open ──acknowledge──► acknowledged ──resolve──► resolved
      │                        │                       │
      └──────────── false positive (note required) ────┘──► false_positive
    acknowledged / resolved / false_positive ──reopen──► open

Asking for the state a flag is already in is a no-op (no audit row); any other transition is refused
with a ValidationError that says what to do instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts_registry.models import AuditEvent
from accounts_registry.services.audit import audit_record
from monitoring.extensions import FeedbackGiven, coaching_give
from policies.models import PolicyFlag

if TYPE_CHECKING:
    from django.contrib.auth.models import User

Status = PolicyFlag.Status
NOTE_MAX_LENGTH = 4000

_ALLOWED_FROM: dict[str, frozenset[str]] = {
    Status.ACKNOWLEDGED: frozenset({Status.OPEN}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.ACKNOWLEDGED}),
    Status.FALSE_POSITIVE: frozenset({Status.OPEN, Status.ACKNOWLEDGED, Status.RESOLVED}),
    Status.OPEN: frozenset({Status.ACKNOWLEDGED, Status.RESOLVED, Status.FALSE_POSITIVE}),
}
_VERBS: dict[str, AuditEvent.Verb] = {
    Status.ACKNOWLEDGED: AuditEvent.Verb.POLICY_FLAG_ACKNOWLEDGE,
    Status.RESOLVED: AuditEvent.Verb.POLICY_FLAG_RESOLVE,
    Status.FALSE_POSITIVE: AuditEvent.Verb.POLICY_FLAG_FALSE_POSITIVE,
    Status.OPEN: AuditEvent.Verb.POLICY_FLAG_REOPEN,
}


def _clean_note(note: str) -> str:
    note = note.strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise ValidationError(f"Keep the note under {NOTE_MAX_LENGTH} characters.")
    return note


def _snapshot(flag: PolicyFlag) -> dict[str, str]:
    return {"status": flag.status, "note": flag.note}


def _refusal(current: str, target: str) -> ValidationError:
    if target == Status.ACKNOWLEDGED:
        return ValidationError(f"This flag is already {Status(current).label.lower()}: reopen it first.")
    return ValidationError(f"A {Status(current).label.lower()} flag cannot be {Status(target).label.lower()}.")


def _lock_post(flag: PolicyFlag) -> tuple[PolicyFlag, list[PolicyFlag]]:
    """Lock the flag and, for a flag on a post, the post's other flags (in id order, so two reviewers of
    one post never deadlock); returns the locked flag and those of its siblings in the same status."""
    if flag.message_id is None:
        return PolicyFlag.objects.select_for_update().get(pk=flag.pk), []
    rows = list(
        PolicyFlag.objects.select_for_update().filter(Q(pk=flag.pk) | Q(message_id=flag.message_id)).order_by("pk")
    )
    locked = next(row for row in rows if row.pk == flag.pk)
    return locked, [row for row in rows if row.pk != flag.pk and row.status == locked.status]


@transaction.atomic
def _flag_move(*, flag: PolicyFlag, to: str, actor: User, note: str | None = None) -> PolicyFlag:
    """Move the flag — and its post's other flags in the same status: one review per post — to `to`
    (locking their rows); `note` None keeps each flag's note. One audit event per flag moved, so every
    flag's own history stays whole."""
    locked, siblings = _lock_post(flag)
    if locked.status == to and (note is None or note == locked.note):
        return locked
    if locked.status != to and locked.status not in _ALLOWED_FROM[to]:
        raise _refusal(locked.status, to)
    if (
        to == Status.OPEN
        and locked.message_id is None
        and PolicyFlag.objects.filter(
            rule_id=locked.rule_id,
            account_id=locked.account_id,
            message__isnull=True,
            status__in=[Status.OPEN, Status.ACKNOWLEDGED],
        )
        .exclude(pk=locked.pk)
        .exists()
    ):
        raise ValidationError("A newer flag for the same account problem is already open: review that one.")
    now = timezone.now()
    for row in [locked, *siblings]:
        before = _snapshot(row)
        row.status = to
        if note is not None:
            row.note = note
        if to == Status.OPEN:
            row.reviewed_by, row.reviewed_at = None, None
        else:
            row.reviewed_by, row.reviewed_at = actor, now
        row.save(update_fields=["status", "note", "reviewed_by", "reviewed_at"])
        audit_record(
            actor=actor,
            verb=_VERBS[to],
            target=row,
            unit=flag.account.unit,
            before=before,
            after=_snapshot(row),
        )
    # Keep the caller's instance (with its joined rule, account and message) in step with the row.
    flag.status, flag.note = locked.status, locked.note
    flag.reviewed_by, flag.reviewed_at = locked.reviewed_by, locked.reviewed_at
    return flag


def flag_acknowledge(*, flag: PolicyFlag, actor: User) -> PolicyFlag:
    """Someone is on it. Only an open flag can be acknowledged; acknowledging twice is a no-op."""
    return _flag_move(flag=flag, to=Status.ACKNOWLEDGED, actor=actor)


def flag_resolve(*, flag: PolicyFlag, actor: User, note: str = "") -> PolicyFlag:
    """The breach was real and has been dealt with (post removed, member spoken to...).

    An optional note replaces the flag's note when given.
    """
    cleaned = _clean_note(note)
    return _flag_move(flag=flag, to=Status.RESOLVED, actor=actor, note=cleaned or None)


def flag_mark_false_positive(*, flag: PolicyFlag, actor: User, note: str) -> PolicyFlag:
    """The rule was wrong here. The note (required) says why, so the rule's owner can tune it."""
    cleaned = _clean_note(note)
    if not cleaned:
        raise ValidationError("Say why this is a false positive: the note helps whoever tunes the rule.")
    return _flag_move(flag=flag, to=Status.FALSE_POSITIVE, actor=actor, note=cleaned)


def flag_reopen(*, flag: PolicyFlag, actor: User) -> PolicyFlag:
    """Back to open (the note stays). Refused for an account-level flag whose problem was flagged again
    since — the newer open flag is the one to review."""
    return _flag_move(flag=flag, to=Status.OPEN, actor=actor)


@transaction.atomic
def flag_coach(*, flag: PolicyFlag, actor: User, text: str, site_url: str = "") -> FeedbackGiven:
    """Send coaching to the member who holds the account, on the flagged post, and acknowledge an open flag.

    One review per post: one piece of feedback (one e-mail) for the post, a policy_flag.coach audit event
    on each of the post's flags in the flag's status, and all of them acknowledged when open.

    Through monitoring.extensions.coaching_give (engagement's feedback_give), which refuses
    (ValidationError) inbound messages and accounts without a holder, and emails the member after commit.
    Account-level flags have no post to coach on: refused too.
    Writes feedback.give (engagement) and policy_flag.coach audit events.
    """
    if flag.message is None:
        raise ValidationError(
            "Coaching is left on a post; this flag is about the account itself. Contact the holder directly."
        )
    feedback = coaching_give(message=flag.message, text=text, actor=actor, site_url=site_url)
    locked, siblings = _lock_post(flag)
    for row in [locked, *siblings]:
        audit_record(
            actor=actor,
            verb=AuditEvent.Verb.POLICY_FLAG_COACH,
            target=row,
            unit=flag.account.unit,
            after={"feedback": feedback.pk, "member": feedback.member_id},
        )
    if flag.status == Status.OPEN:
        _flag_move(flag=flag, to=Status.ACKNOWLEDGED, actor=actor)
    return feedback
