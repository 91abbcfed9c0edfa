"""The capabilities table (accounts_registry.capabilities), tested from itself: for every role and every
action, one request on a route that performs the action, on an object inside the role's subtree and one
outside it. Allowed → the route does it (a 2xx or a redirect); refused → 403 when the role sees the
object, 404 when it does not; outside the subtree → 404 (no existence oracle). Role-gated pages (an
action the role has nowhere) answer 403 before any lookup. The README shows the same table."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from django.conf import settings

from accounts_registry.capabilities import CAPABILITIES, Action, Reach, capabilities_markdown
from accounts_registry.models import Role
from alerts.services.events import critical_flag_events, emergency_events
from tests.security.matrix_runner import Clients, url_for
from tests.security.world import build_world

pytestmark = pytest.mark.django_db


@dataclasses.dataclass(frozen=True)
class Probe:
    route: str
    kind: str | None
    method: str
    sees: Action | None  # the action that makes the object visible (None: a page without object)


PROBES: dict[Action, Probe] = {
    Action.UNIT_VIEW: Probe("registry:unit", "unit", "GET", Action.UNIT_VIEW),
    Action.ACCOUNT_VIEW: Probe("registry:account", "account", "GET", Action.ACCOUNT_VIEW),
    Action.MEMBER_VIEW: Probe("registry:member", "member", "GET", Action.MEMBER_VIEW),
    Action.TRIAGE_VIEW: Probe("inbox:item", "item", "GET", Action.TRIAGE_VIEW),
    Action.TRIAGE_HANDLE: Probe("inbox:handle", "item", "POST", Action.TRIAGE_VIEW),
    Action.TRIAGE_DISMISS: Probe("inbox:dismiss", "item", "POST", Action.TRIAGE_VIEW),
    Action.TRIAGE_ASSIGN: Probe("inbox:assign", "item", "POST", Action.TRIAGE_VIEW),
    Action.FLAG_VIEW: Probe("policies:flag", "flag", "GET", Action.FLAG_VIEW),
    Action.FLAG_REVIEW: Probe("policies:flag-acknowledge", "flag", "POST", Action.FLAG_VIEW),
    Action.COACH: Probe("insights:message-feedback", "post", "POST", Action.ACCOUNT_VIEW),
    Action.FEEDBACK_VIEW: Probe("insights:member-feedback", "member", "GET", Action.MEMBER_VIEW),
    Action.PEOPLE_ADMIN: Probe("registry:member-edit", "member", "GET", Action.MEMBER_VIEW),
    Action.ACCOUNT_ADMIN: Probe("registry:account-holder", "account", "GET", Action.ACCOUNT_VIEW),
    Action.ROLE_ADMIN: Probe("registry:member-roles", "member", "POST", Action.MEMBER_VIEW),
    Action.POLICY_ADMIN: Probe("policies:rule-new", None, "GET", None),
    Action.SECURITY_VIEW: Probe("registry:security", None, "GET", None),
}
# The world's users (tests/security/world.py) and the role each holds; the member row is the officer's.
USERS = {
    "member": Role.MEMBER,
    "supervisor_a": Role.SUPERVISOR,
    "supervisor_b": Role.SUPERVISOR,
    "comms_manager": Role.COMMS_MANAGER,
    "unit_admin": Role.ADMIN,
}


def test_every_action_but_notification_has_a_probe():
    assert set(PROBES) | {Action.EMERGENCY_RECEIVE, Action.CRITICAL_FLAG_RECEIVE} == set(Action)


def test_the_readme_shows_the_table():
    readme = (Path(settings.BASE_DIR) / "README.md").read_text()
    assert capabilities_markdown() in readme


def expected(role: Role, action: Action, relation: str) -> str:
    """ "ok", "403" or "404" for a role asking to do `action` on an object inside/outside its subtree."""
    probe = PROBES[action]
    row = CAPABILITIES[role]
    if probe.kind is None:
        return "ok" if action in row else "403"
    if relation == "out":
        return "404"
    if action in row:
        return "ok"
    return "403" if probe.sees in row else "404"


@pytest.mark.parametrize("action", list(PROBES), ids=str)
def test_each_role_may_do_exactly_what_the_table_says(action, settings):
    settings.ACCOUNT_RATE_LIMITS = False
    world = build_world()
    clients = Clients(world)
    probe = PROBES[action]
    mismatches = []
    for user, role in USERS.items():
        for relation in ("in", "out") if probe.kind else ("in",):
            url = url_for(world, probe.route, probe.kind, user, relation)
            status, _ = clients.request(url, user, probe.method, api=False)
            got = "ok" if status < 400 else str(status)
            want = expected(role, action, relation)
            if got != want:
                mismatches.append(f"{role} ({user}) {probe.method} {url} [{relation}]: expected {want}, got {status}")
    assert not mismatches, f"{action}:\n" + "\n".join(mismatches)


def test_the_member_row_reaches_only_their_own_objects():
    assert {reach for reach in CAPABILITIES[Role.MEMBER].values()} == {Reach.OWN}


@pytest.mark.parametrize("action", [Action.EMERGENCY_RECEIVE, Action.CRITICAL_FLAG_RECEIVE])
def test_alerts_reach_exactly_the_roles_the_table_names(action):
    """The alerts app asks the table who receives: everyone whose role has the action on a unit covering
    the North account (South's supervisor never; the member's role has no receive action)."""
    world = build_world()
    for user in world.users.values():
        if user is not None:
            user.email = f"{user.username}@example.org"
            user.save(update_fields=["email"])
    if action == Action.EMERGENCY_RECEIVE:
        [event] = emergency_events([world.north.item])
    else:
        [event] = critical_flag_events([world.north.flag])
    receiving = {
        world.users[user].pk
        for user, role in {**USERS, "admin": Role.ADMIN}.items()
        if action in CAPABILITIES[role] and user != "supervisor_b"
    }
    assert receiving  # the table gives the action to someone covering North
    assert event.user_ids == receiving
