"""Demo people at every stage of an officer's life in Chorus, built through the same services the
pages use, so the member pages show real timelines: a training catalogue, an officer invited and not
yet signed in, one transferred, one who left with their account handed over, one whose training is
about to expire. See demo.data.PEOPLE_STAGES for who is who."""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from accounts_registry.models import Member, OrgUnit, Platform, SocialAccount
from accounts_registry.services.accounts import OnboardingRequest, account_onboard
from accounts_registry.services.lifecycle import member_depart, member_transfer
from accounts_registry.services.members import member_create
from accounts_registry.services.people import member_invite, training_complete, training_course_create
from demo import data as demo_data

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _member(name: str, badge: str, unit: OrgUnit, actor: User) -> Member:
    email = f"{name.lower().replace(' ', '.')}@{demo_data.EMAIL_DOMAIN}"
    return member_create(full_name=name, badge_number=badge, unit=unit, rank="Constable", email=email, actor=actor)


def build_people_stages(*, units: dict[str, OrgUnit], actor: User, today: datetime.date, site_url: str) -> None:
    course = training_course_create(
        name=demo_data.CATALOGUE_COURSE,
        platforms=[p.value for p in Platform],
        validity_days=demo_data.TRAINING_VALIDITY_DAYS,
        actor=actor,
    )
    training_course_create(name="X essentials", platforms=[Platform.X], validity_days=365, actor=actor)
    stages = demo_data.PEOPLE_STAGES
    members = {stage.key: _member(stage.full_name, stage.badge, units[stage.unit], actor) for stage in stages}
    for stage in stages:
        if stage.trained_days_ago is not None:
            training_complete(
                member=members[stage.key],
                course=course,
                completed_on=today - datetime.timedelta(days=stage.trained_days_ago),
                actor=actor,
                certificate_ref=f"SMS-{stage.badge}",
            )
    member_invite(member=members["invited"], actor=actor, site_url=site_url)
    for key in ("transferred", "leaver"):
        account_onboard(
            request=OnboardingRequest(
                platform=Platform.X,
                handle=f"PC{members[key].full_name.replace(' ', '')}"[:15],
                kind=SocialAccount.Kind.PERSONAL,
                holder=members[key],
            ),
            actor=actor,
        )
    member_transfer(member=members["transferred"], unit=units[demo_data.TRANSFER_TO], actor=actor)
    leaver_account = SocialAccount.objects.get(holder=members["leaver"])
    member_depart(
        member=members["leaver"],
        left_on=today - datetime.timedelta(days=3),
        successors={leaver_account.pk: members["successor"]},
        actor=actor,
    )
