"""Where the apps built on the registry take part in its people flows without the registry importing them.

Each point is a list of dotted paths in settings (the pattern of CHORUS_INGEST_HOOKS); every function takes
keyword arguments `user` (the login concerned) and `actor` (who acts) and returns how many rows it changed.

- `CHORUS_LOGIN_DEACTIVATED_HOOKS`: a login was deactivated (engagement revokes its API tokens).
- `CHORUS_MEMBER_LEFT_HOOKS`: a member with a login left (engagement returns their open triage items
  to the queue).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class PeopleHook(Protocol):
    def __call__(self, *, user: User, actor: User) -> int: ...


def _run(setting: str, *, user: User, actor: User) -> dict[str, int]:
    return {
        path: cast("PeopleHook", import_string(path))(user=user, actor=actor) for path in getattr(settings, setting)
    }


def login_deactivated(*, user: User, actor: User) -> dict[str, int]:
    return _run("CHORUS_LOGIN_DEACTIVATED_HOOKS", user=user, actor=actor)


def member_left(*, user: User, actor: User) -> dict[str, int]:
    return _run("CHORUS_MEMBER_LEFT_HOOKS", user=user, actor=actor)
