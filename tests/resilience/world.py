"""The world every resilience case runs in: the platform API doubles serving a scenario, the accounts
registered for it, the human triage decisions taken before the faults, and the checks that end each case.

Two stages of traffic. Stage A (older items) is polled cleanly first; people then handle, dismiss, assign
and annotate some of its items. Stage B (newer items, among them the answers to some stage-A questions a
person already handled) is what the faulted sweep must read. Every check compares the database with the
scenario itself: exactly its messages, the human decisions as they were taken, and the waiting set that
answered-detection must give (every inbound item without an org reply, less the ones people closed).
"""

from __future__ import annotations

import dataclasses
import datetime
import random
import time
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from accounts_registry.models import SocialAccount
from benchmarks.world import COMMENT_PLATFORMS, Doubles, Fleet, History, platform_mix, seed_fleet
from engagement.models import TriageItem, TriageNote
from engagement.services.triage_actions import triage_assign, triage_dismiss, triage_handle, triage_note_add
from monitoring.models import Message, PollRun
from policies.models import PolicyFlag, PolicyRule

if TYPE_CHECKING:
    from doubles.scenario import Item, Person

ALERT_PHRASE = "gift card"  # org posts carrying it raise a policy flag (an alert): one per message, ever


@dataclasses.dataclass(frozen=True)
class Size:
    accounts: int
    rounds_a: int  # threads per account in stage A (an own post, a question, often an answer, a reply)
    rounds_b: int

    def platforms(self) -> list[str]:
        """The demo organization's mix; a small world has every platform twice or more, in turn."""
        if self.accounts >= 50:
            return platform_mix(self.accounts)
        return [PLATFORMS[number % len(PLATFORMS)] for number in range(self.accounts)]


# Stage A: 200 accounts x (26 threads of 3-4 items + 5 history items) = about 20,000 messages; each case adds
# a stage of about 1,500 more.
FULL = Size(accounts=200, rounds_a=26, rounds_b=2)
SMALL = Size(accounts=10, rounds_a=4, rounds_b=3)
PLATFORMS = ("x", "facebook", "instagram", "bluesky", "mastodon")


@dataclasses.dataclass(frozen=True)
class Check:
    """What a case ends with, compared with the scenario."""

    expected: int
    found: int
    duplicates: int
    lost: int
    unexpected: int
    human_changed: int
    waiting_diff: int
    alerts_duplicated: int
    alerts_diff: int

    @property
    def is_green(self) -> bool:
        return (self.expected, 0, 0, 0, 0, 0, 0, 0) == (
            self.found,
            self.duplicates,
            self.lost,
            self.unexpected,
            self.human_changed,
            self.waiting_diff,
            self.alerts_duplicated,
            self.alerts_diff,
        )


class World:
    def __init__(self, size: Size, *, stages: int = 10, seed: int = 16) -> None:
        self.size = size
        self.random = random.Random(seed)
        self.doubles = Doubles.start()
        self.fleet: Fleet | None = None
        self.human: dict[int, tuple[Any, ...]] = {}
        # account pk -> the item ids expected of it: fixed when its token was revoked (it is isolated)
        self.isolated: dict[int, set[str]] = {}
        self._number = 0
        self._expected: tuple[Any, set[tuple[int, str]]] | None = None
        # Each stage has its own slot of past time, later than the one before: every cursor a poll keeps
        # (ids, times) sees a stage's items as new, and they are older than any search margin.
        now = timezone.now().replace(microsecond=0)
        self._spacing = datetime.timedelta(seconds=30)
        self._span = self._spacing * 4 * size.rounds_b + datetime.timedelta(minutes=5)
        self._first_slot = now - self._span * (stages + 1)
        self._stage_a_start = self._first_slot - datetime.timedelta(hours=1)
        self.stages = 0
        self._rounds = 0

    # -- building ---------------------------------------------------------------------------------------------
    def seed_accounts(self) -> Fleet:
        self.fleet = seed_fleet(self.doubles, self.size.platforms())
        PolicyRule.objects.get_or_create(
            name="No gift-card payments",
            defaults={
                "explanation": "Police never ask for gift cards.",
                "kind": PolicyRule.Kind.KEYWORDS,
                "config": {"terms": [ALERT_PHRASE]},
                "direction": PolicyRule.Direction.OUTBOUND,
            },
        )
        self._add_rounds(self.size.rounds_a, start=self._stage_a_start, spacing=datetime.timedelta(seconds=10))
        return self.fleet

    def add_stage(self) -> int:
        """New traffic in the next slot, and answers to stage-A questions nobody answered yet — some of which
        a person already handled. Returns how many items were added."""
        assert self.fleet is not None
        before = len(self.doubles.scenario.items)
        start = self._first_slot + self._span * self.stages
        self.stages += 1
        self._add_rounds(self.size.rounds_b, start=start, spacing=self._spacing)
        history = History(self.doubles.scenario, start)
        late = start + self._span - datetime.timedelta(minutes=4)
        for org in self.fleet.people.values():
            for question in self._unanswered(org)[::3]:
                when = late + datetime.timedelta(seconds=self._next())
                self._add(history, org, org, self._reply_text(org, question, "answered as promised"), when, question)
        return len(self.doubles.scenario.items) - before

    def _next(self) -> int:
        """Seconds into the last four minutes of a slot: never past its end. (Up to ten minutes, as it was, put
        late answers into the next stage's slot, after some of its own posts: once a poll's cursor had passed
        them, those posts were older than anything a platform could still publish — 197 of them "lost" in the
        case after the clean run.)"""
        self._number += 1
        return self._number % 180

    def _add_rounds(self, count: int, *, start: datetime.datetime, spacing: datetime.timedelta) -> None:
        assert self.fleet is not None
        history = History(self.doubles.scenario, start)
        citizens = history.citizens
        rounds = range(self._rounds, self._rounds + count)
        self._rounds += count
        for index, org in enumerate(self.fleet.people.values()):
            people = citizens[org.platform]
            for round_number in rounds:
                at = start + spacing * 4 * (round_number - rounds.start) + datetime.timedelta(seconds=index % 23)
                mention = f"@{org.handle} " if org.platform not in COMMENT_PLATFORMS else ""
                alert = f" Pay no fine with a {ALERT_PHRASE}." if (round_number + index) % 9 == 0 else ""
                post = self._add(
                    history, org, org, f"Update {round_number} from {org.handle}: roads reopen at noon.{alert}", at
                )
                asking = people[(index + round_number) % len(people)]
                other = people[(index + round_number + 1) % len(people)]
                question = self._add(
                    history, asking, org, f"{mention}Is the bridge open today (#{round_number})?", at + spacing, post
                )
                self._add(
                    history, other, org, f"{mention}Thanks for the update #{round_number}", at + spacing * 2, post
                )
                if round_number % 3 != 2:
                    answer = self._reply_text(org, question, "yes, it is open")
                    self._add(history, org, org, answer, at + spacing * 3, question)

    @staticmethod
    def _reply_text(org: Person, question: Item, text: str) -> str:
        handle = question.author.handle
        return f"@{handle} {text}" if handle and org.platform not in COMMENT_PLATFORMS else text.capitalize()

    @staticmethod
    def _add(history: History, author: Person, org: Person, text: str, at: datetime.datetime, reply_to=None) -> Item:
        return history.add(author, org, text, at, reply_to=reply_to)

    def _unanswered(self, org: Person) -> list[Item]:
        items = [item for item in self.doubles.scenario.snapshot(org.platform) if item.to.id == org.id]
        answered = {item.in_reply_to for item in items if item.is_outbound and item.in_reply_to}
        return [
            item
            for item in sorted(items, key=lambda item: (item.created_at, item.id))
            if not item.is_outbound and item.in_reply_to and item.id not in answered and "bridge" in item.text
        ]

    # -- human decisions --------------------------------------------------------------------------------------
    def take_human_decisions(self) -> int:
        """Handle, dismiss, assign and annotate stage-A items of every fourth account (some of the handled
        questions get their public answer in stage B). Returns how many items were touched."""
        user_model = get_user_model()
        actor = user_model.objects.filter(username="resilience-supervisor").first()
        if actor is None:
            actor = user_model.objects.create_superuser("resilience-supervisor", "sup@example.org", "not-a-secret-0")
        items = list(
            TriageItem.objects.filter(status=TriageItem.Status.WAITING).select_related("message").order_by("pk")
        )
        by_account: dict[int, list[TriageItem]] = {}
        for item in items:
            by_account.setdefault(item.account_id, []).append(item)
        touched = 0
        for position, (_, waiting) in enumerate(sorted(by_account.items())):
            if position % 4 or len(waiting) < 4:
                continue
            questions = [item for item in waiting if "bridge" in item.message.text]
            others = [item for item in waiting if item not in questions[:1]]
            if questions:
                triage_handle(item=questions[0], reason=TriageItem.HandledReason.ANSWERED_BY_PHONE, actor=actor)
            triage_dismiss(item=others[0], actor=actor)
            triage_assign(item=others[1], assignee=actor, actor=actor)
            triage_note_add(item=others[2], text=f"Called back about item {others[2].pk}.", actor=actor)
            touched += 3 + bool(questions)
        self.human = self.human_states()
        return touched

    @staticmethod
    def human_states() -> dict[int, tuple[Any, ...]]:
        """What people decided, per item: closed status and reason, by whom and when, assignee, notes."""
        notes: dict[int, list[str]] = {}
        for item_id, text in TriageNote.objects.order_by("pk").values_list("item_id", "text"):
            notes.setdefault(item_id, []).append(text)
        decided = TriageItem.objects.filter(closed_by__isnull=False) | TriageItem.objects.filter(assignee__isnull=False)
        states: dict[int, tuple[Any, ...]] = {
            pk: (status, reason, closed_by, closed_at, assignee, tuple(notes.get(pk, [])))
            for pk, status, reason, closed_by, closed_at, assignee in decided.values_list(
                "pk", "status", "handled_reason", "closed_by_id", "closed_at", "assignee_id"
            )
        }
        for pk, texts in notes.items():
            states.setdefault(pk, ("", "", None, None, None, tuple(texts)))
        return states

    # -- faults that belong to the world ------------------------------------------------------------------------
    def revoke_one_token(self, platform: str) -> int:
        """Revoke one account's token on its platform: its polls get 401, it must be isolated (needs
        reconnecting) and what is posted to it afterwards is not expected."""
        assert self.fleet is not None
        pk = next(
            pk
            for pk, person in sorted(self.fleet.people.items())
            if person.platform == platform and pk not in self.isolated
        )
        person = self.fleet.people[pk]
        self.isolated[pk] = {external_id for external_id, _ in self._expected_of(pk)}
        self.doubles.scenario.tokens.pop((person.platform, person.id))
        return pk

    # -- expectations -----------------------------------------------------------------------------------------
    def _expected_of(self, pk: int) -> set[tuple[str, str]]:
        assert self.fleet is not None
        person = self.fleet.people[pk]
        return self.doubles.scenario.expected(person.platform, person.id)

    def expected(self) -> set[tuple[int, str]]:
        """(account pk, item id) of every message the database must hold. Computed in one pass over the
        scenario and kept until it changes: the doubles serve from this process, so checking must be cheap."""
        assert self.fleet is not None
        key = (len(self.doubles.scenario.items), tuple(sorted((pk, len(ids)) for pk, ids in self.isolated.items())))
        if self._expected is not None and self._expected[0] == key:
            return self._expected[1]
        owners = {(person.platform, person.id): pk for pk, person in self.fleet.people.items()}
        with self.doubles.scenario._lock:
            items = list(self.doubles.scenario.items)
        result = set()
        for item in items:
            pk = owners.get((item.platform, item.to.id))
            if pk is None or item.repost_of or item.broken:
                continue
            if pk in self.isolated and item.id not in self.isolated[pk]:
                continue
            result.add((pk, item.id))
        self._expected = (key, result)
        return result

    def expected_waiting(self) -> set[tuple[int, str]]:
        """Inbound items with no org reply to them, less those people closed — of the expected messages."""
        assert self.fleet is not None
        expected = self.expected()
        closed = {
            (account_id, external_id)
            for account_id, external_id in TriageItem.objects.filter(closed_by__isnull=False).values_list(
                "account_id", "message__external_id"
            )
        }
        waiting: set[tuple[int, str]] = set()
        for pk, person in self.fleet.people.items():
            items = [item for item in self.doubles.scenario.snapshot(person.platform) if item.to.id == person.id]
            present = {item.id for item in items if (pk, item.id) in expected}
            answered = {item.in_reply_to for item in items if item.is_outbound and item.id in present}
            waiting |= {
                (pk, item.id)
                for item in items
                if not item.is_outbound and item.id in present and item.id not in answered and not item.repost_of
            }
        return waiting - closed

    def expected_alerts(self) -> set[tuple[int, str]]:
        assert self.fleet is not None
        expected = self.expected()
        return {
            (pk, item.id)
            for pk, person in self.fleet.people.items()
            for item in self.doubles.scenario.snapshot(person.platform)
            if item.to.id == person.id and item.is_outbound and ALERT_PHRASE in item.text and (pk, item.id) in expected
        }

    def stored_count(self) -> int:
        return Message.objects.count()

    def check(self) -> Check:
        expected = self.expected()
        rows = list(Message.objects.values_list("account_id", "external_id"))
        found = set(rows)
        duplicates = len(rows) - len(found)
        human_now = self.human_states()
        changed = sum(1 for pk, state in self.human.items() if human_now.get(pk) != state)
        waiting = set(
            TriageItem.objects.filter(status=TriageItem.Status.WAITING).values_list(
                "account_id", "message__external_id"
            )
        )
        flags = list(PolicyFlag.objects.filter(message__isnull=False).values_list("account_id", "message__external_id"))
        return Check(
            expected=len(expected),
            found=len(rows),
            duplicates=duplicates,
            lost=len(expected - found),
            unexpected=len(found - expected),
            human_changed=changed,
            waiting_diff=len(waiting ^ self.expected_waiting()),
            alerts_duplicated=len(flags) - len(set(flags)),
            alerts_diff=len(set(flags) ^ self.expected_alerts()),
        )

    def is_complete(self) -> bool:
        """Cheap test first (a count), then the full comparison."""
        expected = self.expected()
        if Message.objects.count() < len(expected):
            time.sleep(1)  # the doubles answer from this process: leave them the interpreter
            return False
        return set(Message.objects.values_list("account_id", "external_id")) >= expected

    def isolated_ok(self) -> bool:
        return all(
            SocialAccount.objects.get(pk=pk).status == SocialAccount.Status.NEEDS_RECONNECT for pk in self.isolated
        )

    def stop(self) -> None:
        self.doubles.stop()


def overlapping_polls(*, since: datetime.datetime) -> int:
    """Polls of one account that ran at the same time (two sweepers must never both claim an account)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM monitoring_pollrun a JOIN monitoring_pollrun b
              ON a.account_id = b.account_id AND a.id < b.id
             WHERE a.started_at >= %s AND a.finished_at IS NOT NULL AND b.finished_at IS NOT NULL
               AND a.started_at < b.finished_at AND b.started_at < a.finished_at
               AND a.outcome <> 'running' AND b.outcome <> 'running'
               AND a.error NOT LIKE 'abandoned%%' AND b.error NOT LIKE 'abandoned%%'
            """,
            [since],
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def poll_outcomes() -> dict[str, int]:
    return dict(PollRun.objects.values_list("outcome").annotate(count=Count("id")).order_by())
