"""The daily account-level checks, on planted cases."""

import datetime

import pytest
import time_machine

from accounts_registry.selectors import governance_problems
from monitoring.models import DailyActivity, JobRun
from policies.models import PolicyFlag
from policies.services.governance import governance_run
from policies.services.rules import rule_create, rule_validate
from policies.tasks import run_governance_checks
from tests.factories import MemberFactory, SocialAccountFactory, TrainingFactory

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 20, 14, 0, tzinfo=datetime.UTC)
TODAY = datetime.date(2026, 11, 20)
LONG_AGO = datetime.datetime(2026, 1, 5, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def governance(name, check, *, unit=None, platforms=None, **options):
    return rule_create(
        actor=None,
        name=name,
        explanation=f"{name}.",
        kind="governance",
        config={"check": check, **options},
        unit=unit,
        platforms=platforms or [],
    )


def account(org, handle, *, unit="11", kind="unit", status="active", holder=None, changed=LONG_AGO, platform="x"):
    return SocialAccountFactory.create(
        handle=handle, unit=org[unit], kind=kind, status=status, holder=holder, platform=platform,
        onboarded_at=LONG_AGO, status_changed_at=changed,
    )  # fmt: skip


def active_on(account, day, *, posts=1, replies=0, inbound=0):
    DailyActivity.objects.create(account=account, day=day, posts=posts, replies=replies, inbound=inbound)


def flagged():
    return sorted(
        (flag.rule.name, flag.account.handle, flag.excerpt)
        for flag in PolicyFlag.objects.select_related("rule", "account")
    )


def test_dormant_accounts_per_kind(org, north_member):
    governance("Dormant personal", "dormant", days=30, kinds=["personal"])
    governance("Dormant unit", "dormant", days=14, kinds=["unit"])
    personal_quiet = account(org, "QuietOfficer", kind="personal", holder=north_member)
    personal_busy = account(org, "BusyOfficer", kind="personal", holder=north_member)
    unit_quiet = account(org, "QuietUnit")
    unit_inbound_only = account(org, "OnlyMentioned")
    never_posted = account(org, "NeverPosted")
    account(org, "Paused", status="paused")
    active_on(personal_quiet, TODAY - datetime.timedelta(days=40))
    active_on(personal_busy, TODAY - datetime.timedelta(days=3), posts=0, replies=2)
    active_on(unit_quiet, TODAY - datetime.timedelta(days=20))
    active_on(unit_inbound_only, TODAY - datetime.timedelta(days=1), posts=0, inbound=9)
    active_on(never_posted, TODAY - datetime.timedelta(days=400))  # before it was onboarded: does not count
    result = governance_run()
    assert flagged() == [
        ("Dormant personal", "QuietOfficer", "No post since 2026-10-11 (40 days)."),
        ("Dormant unit", "NeverPosted", "No post since it was onboarded on 2026-01-05 (319 days)."),
        ("Dormant unit", "OnlyMentioned", "No post since it was onboarded on 2026-01-05 (319 days)."),
        ("Dormant unit", "QuietUnit", "No post since 2026-10-31 (20 days)."),
    ]
    assert (result.rules, result.flags_created) == (2, 4)


def test_holder_left_and_training_expired(org):
    gone = MemberFactory.create(full_name="Gone Officer", unit=org["11"], left_on=datetime.date(2026, 10, 1))
    lapsed = MemberFactory.create(full_name="Lapsed Officer", unit=org["11"])
    TrainingFactory.create(member=lapsed, completed_on=datetime.date(2024, 1, 1), expires_on=datetime.date(2026, 1, 1))
    current = MemberFactory.create(full_name="Current Officer", unit=org["11"])
    TrainingFactory.create(member=current, platforms=["facebook"])
    governance("Holder left", "holder_left")
    governance("Training expired", "training_expired")
    account(org, "GoneOfficer", kind="personal", holder=gone)
    account(org, "GoneRetired", kind="personal", holder=gone, status="retired")
    account(org, "GonePaused", kind="personal", holder=gone, status="paused")  # still held by someone who left
    account(org, "LapsedOfficer", kind="personal", holder=lapsed)
    account(org, "CurrentOnFacebook", kind="personal", holder=current, platform="facebook")
    account(org, "CurrentOnX", kind="personal", holder=current)
    account(org, "LapsedUnitAccount", kind="unit", holder=lapsed)  # training applies to personal accounts
    governance_run()
    left = "The holder, Gone Officer, left the organization on 2026-10-01."
    assert flagged() == [
        ("Holder left", "GoneOfficer", left),
        ("Holder left", "GonePaused", left),
        ("Training expired", "CurrentOnX", "Current Officer has no current training for X."),
        ("Training expired", "LapsedOfficer", "Lapsed Officer has no current training for X."),
    ]


def test_pending_and_needs_reconnect_for_too_long(org):
    governance("Pending", "pending_too_long", days=14)
    governance("Reconnect", "needs_reconnect_too_long", days=7)
    account(org, "PendingLong", status="pending", changed=NOW - datetime.timedelta(days=15))
    account(org, "PendingNew", status="pending", changed=NOW - datetime.timedelta(days=13))
    account(org, "BrokenLong", status="needs_reconnect", changed=NOW - datetime.timedelta(days=8))
    account(org, "BrokenNew", status="needs_reconnect", changed=NOW - datetime.timedelta(days=2))
    governance_run()
    assert flagged() == [
        ("Pending", "PendingLong", "Pending since 2026-11-05 (more than 14 days)."),
        ("Reconnect", "BrokenLong", "Needs reconnecting since 2026-11-12 (more than 7 days)."),
    ]


def test_scope_of_governance_rules(org):
    governance("South pending", "pending_too_long", unit=org["south"])
    governance("Facebook pending", "pending_too_long", platforms=["facebook"])
    account(org, "NorthPending", status="pending")
    account(org, "SouthPending", unit="51", status="pending")
    account(org, "NorthFacebook", status="pending", platform="facebook")
    governance_run()
    assert [(rule, handle) for rule, handle, _ in flagged()] == [
        ("Facebook pending", "NorthFacebook"),
        ("South pending", "SouthPending"),
    ]


def test_re_runs_create_no_duplicates_and_false_positives_stay_quiet(org):
    governance("Pending", "pending_too_long")
    governance("Reconnect", "needs_reconnect_too_long")
    account(org, "PendingLong", status="pending")
    broken = account(org, "BrokenLong", status="needs_reconnect")
    assert governance_run().flags_created == 2
    assert governance_run().flags_created == 0
    PolicyFlag.objects.filter(account=broken).update(status=PolicyFlag.Status.FALSE_POSITIVE)
    PolicyFlag.objects.exclude(account=broken).update(status=PolicyFlag.Status.RESOLVED)
    # Resolved, yet still pending: raised again. Marked a false positive: left alone.
    with time_machine.travel(NOW + datetime.timedelta(days=1), tick=False):
        assert governance_run().flags_created == 1
    assert PolicyFlag.objects.filter(account=broken).count() == 1
    assert PolicyFlag.objects.filter(status="open").get().account.handle == "PendingLong"


def test_problems_that_went_away_keep_their_flag_for_a_human(org):
    governance("Pending", "pending_too_long")
    pending = account(org, "PendingLong", status="pending")
    governance_run()
    pending.status = "active"
    pending.save()
    governance_run()
    assert PolicyFlag.objects.get().status == "open"


def test_each_run_writes_a_job_run(org):
    governance("Pending", "pending_too_long")
    account(org, "PendingLong", status="pending")
    run_governance_checks.run()  # the daily task delegates to governance_run
    run = JobRun.objects.get(task="policies_governance")
    assert run.status == "ok"
    assert run.detail == {"rules": 1, "accounts": 1, "problems": 1, "flags_created": 1}


def test_disclaimer_check_is_refused_with_the_reason():
    assert rule_validate("governance", {"check": "missing_disclaimer"}) == [
        "check: Chorus does not store account profiles (bios), so a missing disclaimer cannot be checked."
    ]
    assert rule_validate("governance", {"check": "dormant", "days": 0}) == [
        "days: a whole number of days between 1 and 3650."
    ]
    assert rule_validate("governance", {"check": "holder_left", "days": 3}) == [
        "days: not an option of the holder_left check (its options: none)."
    ]


def test_the_governance_page_and_the_rules_agree(org, admin_user, settings):
    """One definition: with default options, the rules flag exactly what /org/governance/ lists."""
    settings.CHORUS_RECONNECT_GRACE_DAYS = 3
    gone = MemberFactory.create(full_name="Gone Officer", unit=org["11"], left_on=datetime.date(2026, 10, 1))
    lapsed = MemberFactory.create(full_name="Lapsed Officer", unit=org["11"])
    for check in ("holder_left", "training_expired", "pending_too_long", "needs_reconnect_too_long"):
        governance(check, check)
    account(org, "GonePaused", kind="personal", holder=gone, status="paused")
    account(org, "LapsedOfficer", kind="personal", holder=lapsed)
    account(org, "PendingLong", status="pending", changed=NOW - datetime.timedelta(days=15))
    account(org, "PendingNew", status="pending", changed=NOW - datetime.timedelta(days=13))
    account(org, "Broken4Days", status="needs_reconnect", changed=NOW - datetime.timedelta(days=4))
    account(org, "Broken2Days", status="needs_reconnect", changed=NOW - datetime.timedelta(days=2))
    governance_run()
    on_page = sorted(
        (problem.check, problem.account.handle, problem.reason) for problem in governance_problems(admin_user)
    )
    assert on_page == flagged()
    assert [handle for _, handle, _ in on_page] == ["GonePaused", "Broken4Days", "PendingLong", "LapsedOfficer"]
