"""The review queue's rows: one per post.

A post that trips several rules (a date of birth, a street address and an occurrence number) raised one
flag per rule; the queue shows it once, with every reason, and a review of the row applies to all of
the post's flags in the row's status (policies.services.review). The row is led by one of those flags
(policies.selectors.flag_queue picks it: the most severe, then the oldest); its id names the row in URLs
and in the DOM. An account-level flag (governance) is a row of its own.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import TYPE_CHECKING

from policies.models import PolicyFlag
from policies.selectors import SEVERITY_RANK, Segment, highlight_segments

if TYPE_CHECKING:
    import datetime
    from collections.abc import Sequence

# Characters of context kept either side of the matches in a row's snippet.
SNIPPET_CONTEXT = 60
ELLIPSIS = "…"


@dataclasses.dataclass(frozen=True)
class QueueRow:
    flag: PolicyFlag  # the row's lead flag
    flags: list[PolicyFlag]  # every flag of the post in the lead's status, the lead first
    segments: list[Segment]  # the matches with some context, for <mark> (the template escapes them)
    can_review: bool

    @property
    def posted_at(self) -> datetime.datetime:
        """The post's own time (the flag's for an account-level flag)."""
        return self.flag.message.created_at if self.flag.message else self.flag.created_at


_RANKS: dict[str, int] = {str(severity): rank for severity, rank in SEVERITY_RANK.items()}


def _rank(flag: PolicyFlag) -> tuple[int, int]:
    """The queue's order within a post: most severe first, then the oldest flag."""
    return _RANKS.get(flag.rule.severity, len(_RANKS)), flag.pk


def match_snippet(text: str, spans: Sequence[object], *, context: int = SNIPPET_CONTEXT) -> list[Segment]:
    """The part of `text` from just before the first match to just after the last, matches marked.

    Spans are stored JSON (untrusted): highlight_segments validates and clips them; the cut-off ends get
    an ellipsis. With no usable span, the text's beginning.
    """
    segments = highlight_segments(text, list(spans))
    offsets = []
    position = 0
    for segment in segments:
        if segment.is_match:
            offsets.append((position, position + len(segment.text)))
        position += len(segment.text)
    start = max(0, offsets[0][0] - context) if offsets else 0
    end = min(len(text), offsets[-1][1] + context) if offsets else min(len(text), 2 * context)
    shifted = [[match_start - start, match_end - start] for match_start, match_end in offsets]
    snippet = highlight_segments(text[start:end], shifted)
    if start > 0:
        snippet.insert(0, Segment(ELLIPSIS, is_match=False))
    if end < len(text):
        snippet.append(Segment(ELLIPSIS, is_match=False))
    return snippet


def _post_key(flag: PolicyFlag) -> tuple[int, str] | None:
    return None if flag.message_id is None else (flag.message_id, flag.status)


def queue_rows(leads: Sequence[PolicyFlag], *, can_review: dict[int, bool]) -> list[QueueRow]:
    """The rows for a page of lead flags: each with its post's other flags in the same status (one query
    for the whole page) and the matches of all of them. `can_review` maps account ids to the user's right."""
    message_ids = {flag.message_id for flag in leads if flag.message_id is not None}
    siblings: dict[tuple[int, str], list[PolicyFlag]] = defaultdict(list)
    if message_ids:
        for flag in (
            PolicyFlag.objects.filter(message_id__in=message_ids)
            .select_related("rule")
            .only("pk", "message_id", "status", "spans", "rule__name", "rule__severity")
        ):
            siblings[(flag.message_id, flag.status)].append(flag)  # type: ignore[index]  # filtered non-null
    rows = []
    for lead in leads:
        key = _post_key(lead)
        others = [flag for flag in siblings.get(key, []) if flag.pk != lead.pk] if key else []
        group = [lead, *sorted(others, key=_rank)]
        if lead.message is not None:
            spans = [span for flag in group for span in (flag.spans if isinstance(flag.spans, list) else [])]
            segments = match_snippet(lead.message.text, spans)
        else:
            segments = [Segment(lead.excerpt, is_match=False)]
        rows.append(QueueRow(lead, group, segments, can_review.get(lead.account_id, False)))
    return rows


def post_flags(flag: PolicyFlag) -> list[PolicyFlag]:
    """Every other flag on the flag's post, whatever their status, most severe first (for the flag's page;
    the caller got `flag` through get_flag_for_user, and a post's flags share its account)."""
    if flag.message_id is None:
        return []
    others = list(
        PolicyFlag.objects.filter(message_id=flag.message_id)
        .exclude(pk=flag.pk)
        .select_related("rule")
        .only("pk", "status", "message_id", "rule__name", "rule__severity")
    )
    return sorted(others, key=_rank)
