"""A busy service for the review pages' browser tests: long unit names, posts that trip several rules,
a hundred and fifty accounts in every polling state, and a comms manager who sees it all."""

from __future__ import annotations

import datetime
from typing import Any

from django.utils import timezone

from accounts_registry.models import Role
from monitoring.models import PollState
from policies.engine import _engine_for
from tests.factories import SocialAccountFactory, UserFactory, grant, ingest, make_rule, make_unit

PASSWORD = "correct horse battery staple"
POSTS = 30
ACCOUNTS = 150


def build(org: dict[str, Any]) -> dict[str, Any]:
    # The engine is cached per rule-set version; after another browser test flushed the database, the
    # version of a new rule set can repeat an old one's, so start from a fresh engine.
    _engine_for.cache_clear()
    deep = make_unit("Community Engagement and Neighbourhood Response Office", org["11"], kind="team")
    deeper = make_unit("Youth Outreach and School Liaison Programme Working Group", deep, kind="team")
    make_rule("Date of birth", severity="critical", config={"terms": ["born"]})
    make_rule("Street address", severity="warning", config={"terms": ["street"]})
    make_rule("Occurrence number", severity="warning", config={"terms": ["occurrence"]})
    poster = SocialAccountFactory.create(handle="YouthOutreachOfficer", unit=deeper, kind="unit")
    for number in range(POSTS):
        ingest(
            poster,
            f"Update {number}: the suspect, born 1990-01-0{number % 9 + 1}, was seen near 12 Queen street; "
            f"occurrence 2026-{number:04d}. We thank everyone who called in with information about this case "
            "and ask anyone with dash-camera footage to get in touch with the station.",
            minutes=number,
        )
    now = timezone.now()
    states = []
    for number in range(ACCOUNTS):
        account = SocialAccountFactory.create(
            handle=f"station_{number:03d}", unit=(deep, deeper, org["traffic"])[number % 3]
        )
        last_success = now - datetime.timedelta(minutes=1 if number % 5 else 30)
        states.append(PollState(account=account, last_success_at=last_success, consecutive_failures=number % 7 == 0))
    PollState.objects.bulk_create(states)
    manager = UserFactory.create(username="comms", password=PASSWORD)
    grant(manager, Role.COMMS_MANAGER, org["root"])
    # The longest navigation: an admin of the whole service who is also staff (the Admin link).
    admin = UserFactory.create(username="chief-admin", password=PASSWORD, is_staff=True)
    grant(admin, Role.ADMIN, org["root"])
    return {"deep": deep, "deeper": deeper, "poster": poster, "manager": manager, "admin": admin}
