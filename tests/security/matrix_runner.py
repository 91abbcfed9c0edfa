"""Runs one route of the access matrix: every role, relation and method, each request in its own savepoint."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

from django.db import transaction
from django.test import Client
from django.urls import reverse

from tests.clients import SignedInClient
from tests.security.world import ROLES, World

# Columns of a row for a route with an object: anonymous, then (inside, outside) for each signed-in role.
# The admin's grant covers the whole service, so its "outside" column is the South object (inside for it),
# except for API tokens, where "outside" is somebody else's token.
OBJECT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("anonymous", "in"),
    *((role, relation) for role in ROLES[1:] for relation in ("in", "out")),
)
PLAIN_COLUMNS: tuple[tuple[str, str], ...] = tuple((role, "in") for role in ROLES)


def side_for(role: str, relation: str) -> str:
    """Which unit's object is inside (or outside) the role's subtree."""
    home = "south" if role == "supervisor_b" else "north"
    if relation == "in":
        return home
    return "north" if home == "south" else "south"


def token_for(world: World, role: str, relation: str) -> int:
    if relation == "in" and role != "anonymous":
        return world.tokens[role][0].pk
    other = "supervisor_a" if role == "supervisor_b" else "supervisor_b"
    return world.tokens[other][0].pk


KWARGS = {
    "unit": lambda side: {"pk": side.unit.pk},
    "member": lambda side: {"pk": side.member.pk},
    "account": lambda side: {"pk": side.account.pk},
    "post": lambda side: {"pk": side.post.pk},
    "item": lambda side: {"pk": side.item.pk},
    "flag": lambda side: {"pk": side.flag.pk},
    "rule": lambda side: {"pk": side.rule.pk},
    "rescan": lambda side: {"pk": side.rule.pk, "job_pk": side.rescan.pk},
    # allauth's e-mailed links: a key nobody was sent (the page says the link is invalid).
    "email-key": lambda side: {"key": "not-a-key"},
    "reset-key": lambda side: {"uidb36": "1", "key": "not-a-key"},
    # Single sign-on's one provider (accounts_registry.sso.PROVIDER_ID).
    "sso-provider": lambda side: {"provider_id": "sso"},
}


def url_for(world: World, name: str, kind: str | None, role: str, relation: str) -> str:
    if kind is None:
        return reverse(name)
    if kind == "token":
        return reverse(name, kwargs={"pk": token_for(world, role, relation)})
    return reverse(name, kwargs=KWARGS[kind](world.side(side_for(role, relation))))


@dataclasses.dataclass(frozen=True)
class Observed:
    role: str
    relation: str
    method: str
    status: int
    location: str


class Clients:
    """One signed-in test client per role (signed in once; cookies restored after every request)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.clients: dict[str, Client] = {}
        for role, user in world.users.items():
            client = SignedInClient()
            if user is not None:
                client.force_login(user)
            self.clients[role] = client
        self.cookies = {role: client.cookies for role, client in self.clients.items()}

    def request(self, url: str, role: str, method: str, *, api: bool) -> tuple[int, str]:
        response = self.last_response(url, role, method, api=api)
        return response.status_code, response.get("Location", "")

    def last_response(self, url: str, role: str, method: str, *, api: bool = False) -> Any:
        """One request as `role`, rolled back afterwards so that every cell starts from the same state.

        `method` is GET, POST, HX-GET or HX-POST (the htmx header added); API requests carry the role's
        token instead of a session.
        """
        headers: dict[str, str] = {}
        client = Client() if api else self.clients[role]
        if api and self.world.users[role] is not None:
            headers["Authorization"] = f"Token {self.world.tokens[role][1]}"
        if method.startswith("HX-"):
            headers["HX-Request"] = "true"
        savepoint = transaction.savepoint_create()
        try:
            response: Any = client.generic(method.removeprefix("HX-"), url, headers=headers)
        finally:
            transaction.savepoint_rollback(savepoint)
            if not api:
                client.cookies = copy.deepcopy(self.cookies[role])
        return response
