"""Feedback to members: kudos or coaching on one of the organization's own posts.

Feedback goes to the member who holds the account that posted (personal accounts); unit and corporate
accounts without a holder have nobody to receive it. Who may give it is decided by
engagement.selectors.feedback.user_can_give_feedback.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator

from accounts_registry.models import AuditEvent
from accounts_registry.services.audit import audit_record
from engagement.models import Feedback
from engagement.selectors.feedback import user_can_give_feedback
from monitoring.extensions import FeedbackGiven
from monitoring.models import Message

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from accounts_registry.models import Member

logger = logging.getLogger(__name__)

TEXT_MAX_LENGTH = 4000
EXCERPT_LENGTH = 280


def _author_name(actor: User) -> str:
    return actor.get_full_name() or actor.get_username()


def _email_body(*, feedback: Feedback, message: Message, actor: User, link: str) -> str:
    """Plain text (no HTML), so the post and the feedback are sent as typed."""
    when = timezone.localtime(message.created_at).strftime("%Y-%m-%d %H:%M")
    excerpt = Truncator(message.text).chars(EXCERPT_LENGTH) or "(no text)"
    return (
        f"{_author_name(actor)} left you {feedback.get_kind_display().lower()} on your post "
        f"from {message.account.get_platform_display()} {message.account.handle} ({when}):\n\n"
        f"{excerpt}\n\n"
        f"{feedback.get_kind_display()}:\n{feedback.text}\n\n"
        f"All your feedback: {link}\n"
    )


def _send_feedback_email(*, feedback: Feedback, member: Member, message: Message, actor: User, link: str) -> None:
    subject = f"{feedback.get_kind_display()} on your post from {message.account.handle}"
    try:
        body = _email_body(feedback=feedback, message=message, actor=actor, link=link)
        send_mail(subject, body, None, [member.email])  # from DEFAULT_FROM_EMAIL
    except OSError as error:  # SMTP errors are OSErrors; the feedback stays saved and visible on the page
        logger.warning("feedback %s: email to member %s failed: %s", feedback.pk, member.pk, error)


def feedback_give(*, message: Message, kind: str, text: str, actor: User, site_url: str = "") -> Feedback:
    """Leave kudos or coaching on an outbound post for the member who holds its account.

    Who may call: an admin, comms manager or supervisor covering the account's unit (PermissionDenied
    otherwise). Refuses (ValidationError) inbound messages, accounts without a holder, unknown kinds and
    empty text. Writes one Feedback and one audit event (AuditEvent.Verb.FEEDBACK_GIVE) in one transaction; the email
    to the member (if they have an address) is sent after commit, so a rolled-back give sends nothing and
    a failing mail server loses no feedback. `site_url` ("https://chorus.example") makes the email's
    link absolute. Not idempotent: giving twice leaves two pieces of feedback, as a person would.
    """
    account = message.account
    if not user_can_give_feedback(actor, account):
        raise PermissionDenied("Only admins, comms managers and supervisors of this unit give feedback.")
    if message.direction != Message.Direction.OUTBOUND:
        raise ValidationError("Feedback goes on the organization's own posts, not on inbound messages.")
    member = account.holder
    if member is None:
        raise ValidationError(
            "This account has no holder: feedback goes to the member who holds a personal account, "
            "and nobody holds this one."
        )
    if kind not in Feedback.Kind.values:
        raise ValidationError("Choose kudos or coaching.")
    text = text.strip()
    if not text:
        raise ValidationError("Write the feedback.")
    if len(text) > TEXT_MAX_LENGTH:
        raise ValidationError(f"Keep the feedback under {TEXT_MAX_LENGTH} characters.")

    with transaction.atomic():
        feedback = Feedback.objects.create(message=message, member=member, kind=kind, text=text, author=actor)
        audit_record(
            actor=actor,
            verb=AuditEvent.Verb.FEEDBACK_GIVE,
            target=feedback,
            unit=account.unit,
            after={"kind": kind, "message": message.pk, "member": member.pk, "text": text},
        )
        if member.email:
            link = f"{site_url.rstrip('/')}{reverse('insights:member-feedback', args=[member.pk])}"
            transaction.on_commit(
                lambda: _send_feedback_email(feedback=feedback, member=member, message=message, actor=actor, link=link)
            )
    return feedback


def coaching_give(*, message: Message, text: str, actor: User, site_url: str = "") -> FeedbackGiven:
    """feedback_give with kind coaching, for the policy review (CHORUS_COACHING_GIVE; see
    monitoring/extensions.py). Same rules, refusals and audit event."""
    feedback = feedback_give(message=message, kind=Feedback.Kind.COACHING, text=text, actor=actor, site_url=site_url)
    return FeedbackGiven(pk=feedback.pk, member_id=feedback.member_id, member_name=feedback.member.full_name)
