"""What each role may do: the one table every access decision reads.

`CAPABILITIES[role][action]` is the reach of the action for a holder of the role: `SUBTREE` (every object
under the unit the role is granted on) or `OWN` (only the officer's own accounts, their waiting items,
flags and feedback on their posts, their own record and training). An action missing from a role's row is
refused. The README's "Roles" table is rendered from this one (`capabilities_markdown`), and
tests/security/test_capabilities.py requests a route for every role and every action from it.

The member row applies to an officer signed in with a login linked to their member record (the
invitation links it and grants `member` on their unit, which records the role but widens nothing).
"""

from __future__ import annotations

import enum

from accounts_registry.models import Role


class Action(enum.StrEnum):
    """Every decision a view or service asks about, `<area>.<verb>`."""

    UNIT_VIEW = "unit.view"  # unit pages and the tree: activity, backlog, people of the unit
    ACCOUNT_VIEW = "account.view"
    MEMBER_VIEW = "member.view"  # a member's page: their accounts, training, timeline
    TRIAGE_VIEW = "triage.view"
    TRIAGE_HANDLE = "triage.handle"  # mark handled (answered is detected), reopen, add a note
    TRIAGE_DISMISS = "triage.dismiss"
    TRIAGE_ASSIGN = "triage.assign"  # assign and correct the category
    FLAG_VIEW = "flag.view"
    FLAG_REVIEW = "flag.review"  # acknowledge, resolve, false positive, reopen
    COACH = "coach"  # feedback on a post, coaching on a flag
    FEEDBACK_VIEW = "feedback.view"
    EMERGENCY_RECEIVE = "emergency.receive"  # alerted of possible emergencies waiting (alerts app)
    CRITICAL_FLAG_RECEIVE = "flag.receive"  # alerted of critical policy flags (alerts app)
    PEOPLE_ADMIN = "people.admin"  # members, training, logins, transfers, departures
    ACCOUNT_ADMIN = "account.admin"  # onboarding, lifecycle, credentials, holder changes
    ROLE_ADMIN = "role.admin"
    POLICY_ADMIN = "policy.admin"  # rules
    SECURITY_VIEW = "security.view"


class Reach(enum.StrEnum):
    SUBTREE = "subtree"
    OWN = "own"


S, OWN = Reach.SUBTREE, Reach.OWN
ALERTS_RECEIVED = frozenset({Action.EMERGENCY_RECEIVE, Action.CRITICAL_FLAG_RECEIVE})
_REVIEWER = {
    Action.UNIT_VIEW: S,
    Action.ACCOUNT_VIEW: S,
    Action.MEMBER_VIEW: S,
    Action.TRIAGE_VIEW: S,
    Action.TRIAGE_HANDLE: S,
    Action.TRIAGE_DISMISS: S,
    Action.TRIAGE_ASSIGN: S,
    Action.FLAG_VIEW: S,
    Action.FLAG_REVIEW: S,
    Action.COACH: S,
    Action.FEEDBACK_VIEW: S,
    Action.CRITICAL_FLAG_RECEIVE: S,
}
CAPABILITIES: dict[Role, dict[Action, Reach]] = {
    # Alerts are a duty, not a permission: admins administer; they are not paged for emergencies and flags.
    Role.ADMIN: {action: S for action in Action if action not in ALERTS_RECEIVED},
    Role.COMMS_MANAGER: {**_REVIEWER, Action.EMERGENCY_RECEIVE: S},
    Role.SUPERVISOR: dict(_REVIEWER),
    Role.MEMBER: {
        Action.ACCOUNT_VIEW: OWN,
        Action.MEMBER_VIEW: OWN,
        Action.TRIAGE_VIEW: OWN,
        Action.TRIAGE_HANDLE: OWN,
        Action.FLAG_VIEW: OWN,
        Action.FEEDBACK_VIEW: OWN,
    },
}

# Roles that must sign in with a second factor (accounts_registry.middleware enforces it).
SECOND_FACTOR_ROLES: frozenset[Role] = frozenset({Role.ADMIN, Role.COMMS_MANAGER})


def roles_allowing(action: Action, reach: Reach = Reach.SUBTREE) -> frozenset[str]:
    """The roles whose grant gives `action` at `reach`."""
    return frozenset(role.value for role, row in CAPABILITIES.items() if row.get(action) == reach)


def capabilities_markdown() -> str:
    """The table as the README shows it (a test keeps the README in step)."""
    roles = list(CAPABILITIES)
    lines = [
        "| Action | " + " | ".join(str(role.label) for role in roles) + " |",
        "|---|" + "---|" * len(roles),
    ]
    for action in Action:
        cells = [CAPABILITIES[role].get(action, "—") for role in roles]
        lines.append(f"| `{action.value}` | " + " | ".join(str(cell) for cell in cells) + " |")
    return "\n".join(lines)
