"""One organization with a user per matrix role and, for each object kind, one object in North Division
(unit A) and one in South Division (unit B). Shared by the access matrix and the header tests.

    Metro Police Service            admin (role admin over the whole service)
    ├── North Division  (unit A)    supervisor_a, comms_manager, unit_admin
    │   └── 11 Station              member (an officer with a login, holder of North's personal account)
    └── South Division  (unit B)    supervisor_b
        └── 51 Station
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from django.utils import timezone

from accounts_registry.models import Member, OrgUnit, Role, SocialAccount
from engagement.models import ApiToken, TriageItem
from engagement.services.tokens import api_token_create
from monitoring.models import Message
from policies.models import PolicyFlag, PolicyRule, RescanJob
from tests.factories import MemberFactory, SocialAccountFactory, TrainingFactory, UserFactory, grant, make_unit

ROLES = ("anonymous", "member", "supervisor_a", "supervisor_b", "comms_manager", "unit_admin", "admin")


@dataclasses.dataclass
class Side:
    """The objects of one unit (North = A, South = B)."""

    unit: OrgUnit
    member: Member
    account: SocialAccount
    post: Message  # an outbound post of the account (feedback is given on posts)
    item: TriageItem  # an inbound message waiting in the inbox
    rule: PolicyRule
    flag: PolicyFlag
    rescan: RescanJob


@dataclasses.dataclass
class World:
    users: dict[str, Any]  # role → User (None for anonymous)
    tokens: dict[str, tuple[ApiToken, str]]  # role → (token, plaintext key)
    north: Side
    south: Side

    def side(self, name: str) -> Side:
        return self.north if name == "north" else self.south


def _side(name: str, unit: OrgUnit, counter: int) -> Side:
    member = MemberFactory.create(full_name=f"Officer {name.title()}", unit=unit)
    TrainingFactory.create(member=member)
    account = SocialAccountFactory.create(
        handle=f"Metro{name.title()}", platform="x", kind="personal", unit=unit, holder=member
    )
    now = timezone.now()

    def message(direction: str, external_id: str) -> Message:
        return Message.objects.create(
            platform="x", external_id=external_id, account=account, direction=direction,
            kind="post" if direction == "outbound" else "mention", author_id=f"9{external_id}",
            author_handle="dana_k", author_name="Dana K", text=f"{name} {direction} message",
            created_at=now - datetime.timedelta(minutes=counter), conversation_id=external_id,
            content_hash=external_id,
        )  # fmt: skip

    post = message("outbound", f"{counter}1")
    inbound = message("inbound", f"{counter}2")
    item = TriageItem.objects.create(
        message=inbound, account=account, platform="x", created_at=inbound.created_at,
        conversation_id=inbound.conversation_id, author_id=inbound.author_id,
    )  # fmt: skip
    rule = PolicyRule.objects.create(
        name=f"{name} rule", explanation="Explained.", kind="keywords", unit=unit,
        config={"terms": ["confidential"], "exceptions": []},
    )  # fmt: skip
    flag = PolicyFlag.objects.create(rule=rule, account=account, message=post, spans=[], excerpt=post.text)
    rescan = RescanJob.objects.create(rule=rule, since=now - datetime.timedelta(days=7), until=now)
    return Side(unit, member, account, post, item, rule, flag, rescan)


def build_world() -> World:
    root = make_unit("Metro Police Service", kind="service")
    north = make_unit("North Division", root, kind="division")
    south = make_unit("South Division", root, kind="division")
    station_11 = make_unit("11 Station", north, kind="station")
    station_51 = make_unit("51 Station", south, kind="station")
    north_side = _side("north", station_11, 10)
    south_side = _side("south", station_51, 20)

    users: dict[str, Any] = {"anonymous": None}
    for role, grant_role, unit in (
        ("member", Role.MEMBER, station_11),
        ("supervisor_a", Role.SUPERVISOR, north),
        ("supervisor_b", Role.SUPERVISOR, south),
        ("comms_manager", Role.COMMS_MANAGER, north),
        ("unit_admin", Role.ADMIN, north),
        ("admin", Role.ADMIN, root),
    ):
        # No password: the tests sign in with force_login, and hashing one costs a second per user.
        users[role] = UserFactory.create(username=f"matrix-{role}", password=None)
        grant(users[role], grant_role, unit)
    north_side.member.user = users["member"]
    north_side.member.save(update_fields=["user"])
    tokens = {role: api_token_create(user=user, name=f"{role} token") for role, user in users.items() if user}
    return World(users=users, tokens=tokens, north=north_side, south=south_side)
