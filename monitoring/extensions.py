"""Where the apps built on monitoring meet without importing each other (engagement and policies).

Each point is one function named by a dotted path in settings, the pattern of CHORUS_INGEST_HOOKS:
monitoring knows only the signature, the app that owns the concept provides the body.

- `CHORUS_COACHING_GIVE` (engagement's feedback): leave coaching on one of the organization's own posts
  for the member who holds the account; the policy review's "coach" action calls it.
- `CHORUS_OPEN_FLAG_EXISTS` (policies' flags): an EXISTS expression, true when a message has a flag
  still to be dealt with (open or acknowledged); the inbox's "has a policy flag" filter uses it.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Protocol, cast

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.db.models import Exists, OuterRef

    from monitoring.models import Message


@dataclasses.dataclass(frozen=True)
class FeedbackGiven:
    """What the caller of `coaching_give` learns about the feedback it left."""

    pk: int
    member_id: int
    member_name: str


class CoachingGive(Protocol):
    def __call__(self, *, message: Message, text: str, actor: User, site_url: str = "") -> FeedbackGiven: ...


class OpenFlagExists(Protocol):
    def __call__(self, message_id: OuterRef) -> Exists: ...


def coaching_give(*, message: Message, text: str, actor: User, site_url: str = "") -> FeedbackGiven:
    """Coaching for the holder of the message's account: see the function CHORUS_COACHING_GIVE names."""
    give = cast("CoachingGive", import_string(settings.CHORUS_COACHING_GIVE))
    return give(message=message, text=text, actor=actor, site_url=site_url)


def open_flag_exists(message_id: OuterRef) -> Exists:
    """EXISTS (a flag still to be dealt with on the message `message_id` points at)."""
    exists = cast("OpenFlagExists", import_string(settings.CHORUS_OPEN_FLAG_EXISTS))
    return exists(message_id)
