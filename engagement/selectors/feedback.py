"""Reads for feedback to members: who may give it, on which post, and who may read it.

The rule, in one place (`user_can_give_feedback`): feedback is given by the people who oversee an
account — an admin, a comms manager or a supervisor whose grant covers the account's unit (these are
exactly the registry's read roles). A member, even the holder of the account, never gives feedback.
A member's feedback is read by whoever may see the member: the member themself, and the admins, comms
managers and supervisors whose grants cover the member's unit (`get_member_for_user`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

from accounts_registry.selectors import refused, user_scope, visible_accounts
from engagement.models import Feedback
from monitoring.models import Message

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User
    from django.db.models import QuerySet

    from accounts_registry.models import Member, SocialAccount

    AnyUser = User | AnonymousUser

MEMBER_FEEDBACK_LIMIT = 100


def user_can_give_feedback(user: AnyUser, account: SocialAccount) -> bool:
    """Admins, comms managers and supervisors covering the account's unit (not members)."""
    return user_scope(user).covers(account.unit.path)


def get_message_for_feedback(*, user: AnyUser, pk: int) -> Message:
    """An outbound message of an account visible to the user, ready for the feedback page.

    404 when the message is not outbound or its account is not visible (outsiders); 403 when the user
    sees the account but may not give feedback (e.g. the member who holds it).
    """
    message = (
        Message.objects.filter(pk=pk, direction=Message.Direction.OUTBOUND, account__in=visible_accounts(user))
        .select_related("account__unit", "account__holder")
        .first()
    )
    if message is None:
        raise refused(user=user, target_type="message", pk=pk, message="No such post.")
    if not user_can_give_feedback(user, message.account):
        raise PermissionDenied("Only admins, comms managers and supervisors of this unit give feedback.")
    return message


def message_feedback(message: Message) -> QuerySet[Feedback]:
    """Feedback already given on one post (the caller has checked access to the post)."""
    return message.feedback.select_related("author", "member").order_by("-created_at", "-id")


def member_feedback(member: Member, *, limit: int = MEMBER_FEEDBACK_LIMIT) -> list[Feedback]:
    """A member's newest feedback, with the posts and authors, in one query.

    The caller got the member through get_member_for_user, so the user may see this member.
    """
    return list(
        Feedback.objects.filter(member=member)
        .select_related("message__account", "author")
        .order_by("-created_at", "-id")[:limit]
    )
