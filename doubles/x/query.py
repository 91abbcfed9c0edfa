"""The recent-search query language of the double: `a b` (AND), `a OR b`, `-a`, `( ... )`, and the terms
`@h`, `from:h`, `to:h`, `is:reply`, `is:retweet`, `is:quote` and words."""

from __future__ import annotations

import re
from collections.abc import Callable

from doubles.scenario import Item
from doubles.x.wire import BadRequest

Predicate = Callable[[Item], bool]


class QueryParser:
    """`a b` is AND (binds tighter), `a OR b`, `-a`, `( ... )`; terms `@h`, `from:h`, `to:h`, `is:reply`, words."""

    def __init__(self, query: str, mentions: Callable[[Item], set[str]], replied_handle: Callable[[Item], str]):
        self.tokens = re.findall(r"\(|\)|[^\s()]+", query)
        self.position = 0
        self.mentions = mentions
        self.replied_handle = replied_handle

    def parse(self) -> Predicate:
        if not self.tokens:
            raise BadRequest("query", "", "The `query` query parameter can not be empty")
        predicate = self._or()
        if self.position != len(self.tokens):
            raise BadRequest(
                "query", self.tokens[self.position], "There were errors processing your request: unbalanced ')'"
            )
        return predicate

    def _peek(self) -> str:
        return self.tokens[self.position] if self.position < len(self.tokens) else ""

    def _or(self) -> Predicate:
        alternatives = [self._and()]
        while self._peek() == "OR":
            self.position += 1
            alternatives.append(self._and())
        return lambda item: any(alternative(item) for alternative in alternatives)

    def _and(self) -> Predicate:
        parts: list[Predicate] = []
        while self._peek() not in ("", ")", "OR"):
            parts.append(self._atom())
        if not parts:
            raise BadRequest("query", " ".join(self.tokens), "There were errors processing your request: empty group")
        return lambda item: all(part(item) for part in parts)

    def _atom(self) -> Predicate:
        token = self._peek()
        self.position += 1
        if token == "(":
            inner = self._or()
            if self._peek() != ")":
                raise BadRequest("query", token, "There were errors processing your request: missing ')'")
            self.position += 1
            return inner
        if token.startswith("-"):
            positive = self._atom() if token == "-" else self._term(token[1:])
            return lambda item: not positive(item)
        return self._term(token)

    def _term(self, token: str) -> Predicate:
        lowered = token.lower()
        if lowered.startswith("@") and len(lowered) > 1:
            handle = lowered[1:]
            return lambda item: handle in self.mentions(item)
        if lowered.startswith("from:"):
            handle = lowered.removeprefix("from:").lstrip("@")
            return lambda item: item.author.handle.lower() == handle
        if lowered.startswith("to:"):
            handle = lowered.removeprefix("to:").lstrip("@")
            return lambda item: self.replied_handle(item) == handle
        if lowered == "is:reply":
            return lambda item: bool(item.in_reply_to)
        if lowered == "is:retweet":
            return lambda item: bool(item.repost_of)
        if lowered == "is:quote":
            return lambda item: bool(item.quote_of)
        if ":" in lowered:
            raise BadRequest("query", token, f"There were errors processing your request: Unknown operator '{token}'")
        return lambda item: lowered in item.text.lower()
