"""What runs on newly ingested messages, without monitoring importing the apps that build on it.

`CHORUS_INGEST_HOOKS` lists dotted paths of functions taking the list of new message ids; they run in
the ingest transaction, in order (engagement's answered-detection, policies' evaluation).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from collections.abc import Callable


@cache
def _hooks() -> tuple[Callable[[list[int]], None], ...]:
    return tuple(import_string(path) for path in settings.CHORUS_INGEST_HOOKS)


def run_ingest_hooks(message_ids: list[int]) -> None:
    if message_ids:
        for hook in _hooks():
            hook(message_ids)
