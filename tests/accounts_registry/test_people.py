"""People flows through the services: members, the training catalogue, invitations, logins, transfers,
departures and holder changes — each audited and shown on the member's timeline."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts_registry.models import AuditEvent, Role, RoleGrant, SocialAccount, TrainingCourse
from accounts_registry.selectors.people import member_timeline, training_by_platform
from accounts_registry.services import lifecycle, people
from engagement.models import ApiToken, TriageItem
from engagement.services.tokens import api_token_create
from tests.clients import SignedInClient
from tests.factories import MemberFactory, SocialAccountFactory, UserFactory, grant, inbox_item

Verb = AuditEvent.Verb


@pytest.fixture
def course(db):
    return TrainingCourse.objects.create(name="X spokesperson", platforms=["x"], validity_days=365)


def test_a_completion_expires_after_the_course_validity_and_a_renewal_extends_it(north_member, owner, course):
    member = MemberFactory.create(unit=north_member.unit)
    today = timezone.localdate()
    first = people.training_complete(
        member=member, course=course, completed_on=today - datetime.timedelta(days=300), actor=owner
    )
    assert first.expires_on == today + datetime.timedelta(days=65)
    renewal = people.training_complete(
        member=member, course=course, completed_on=today, actor=owner, certificate_ref="CERT-1"
    )
    assert renewal.expires_on == today + datetime.timedelta(days=365)
    assert renewal.certificate_ref == "CERT-1"
    [x_row] = [row for row in training_by_platform(member) if row.platform == "x"]
    assert x_row.is_trained and x_row.expires_on == renewal.expires_on
    assert not next(row for row in training_by_platform(member) if row.platform == "facebook").is_trained


def test_a_completion_in_the_future_is_refused(north_member, owner, course):
    with pytest.raises(ValidationError, match="future"):
        people.training_complete(
            member=north_member,
            course=course,
            completed_on=timezone.localdate() + datetime.timedelta(days=1),
            actor=owner,
        )


def test_badge_numbers_are_unique_across_the_organization(north_member, south_member, owner):
    with pytest.raises(ValidationError, match="badge"):
        people.member_update(member=north_member, actor=owner, badge_number=south_member.badge_number)


def test_invitation_links_a_login_grants_member_and_mails_a_single_use_link(
    north_member, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user = people.member_invite(member=north_member, actor=owner, site_url="https://chorus.example/")
    north_member.refresh_from_db()
    assert north_member.user == user and not user.has_usable_password()
    assert RoleGrant.objects.filter(user=user, role=Role.MEMBER, unit=north_member.unit).exists()
    [email] = mail.outbox
    assert email.to == [north_member.email]
    link = next(line for line in email.body.splitlines() if line.startswith("https://chorus.example/accounts/"))
    client = SignedInClient()
    path = link.removeprefix("https://chorus.example")
    response = client.get(path, follow=True)
    form_path = response.redirect_chain[-1][0] if response.redirect_chain else path
    response = client.post(
        form_path, {"password1": "a long new passphrase 42", "password2": "a long new passphrase 42"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.has_usable_password()
    # Single use: the same link no longer works.
    assert b"invalid" in SignedInClient().get(path, follow=True).content.lower()
    assert Verb.MEMBER_INVITE in [event.verb for event in member_timeline(north_member)]


def test_deactivating_a_login_ends_its_sessions_and_revokes_its_tokens(north_member, owner):
    user = UserFactory.create(username="alex")
    north_member.user = user
    north_member.save(update_fields=["user"])
    SignedInClient().force_login(user)
    api_token_create(user=user, name="script")
    people.member_login_deactivate(member=north_member, actor=owner)
    user.refresh_from_db()
    assert not user.is_active
    assert not [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(user.pk)]
    assert not ApiToken.objects.filter(user=user, revoked_at__isnull=True).exists()


def test_a_transfer_moves_personal_accounts_lists_old_grants_and_tells_both_supervisors(
    org, north_member, north_account, owner, viewer, outsider, admin_user, django_capture_on_commit_callbacks
):
    user = UserFactory.create(username="alex")
    north_member.user = user
    north_member.save(update_fields=["user"])
    old_grant = grant(user, Role.SUPERVISOR, org["11"])
    with django_capture_on_commit_callbacks(execute=True):
        transfer = lifecycle.member_transfer(member=north_member, unit=org["51"], actor=admin_user)
    north_account.refresh_from_db()
    assert north_account.unit == org["51"]
    assert transfer.old_grants == [old_grant]
    [email] = mail.outbox
    assert sorted(email.to) == sorted([viewer.email, outsider.email])
    event = next(e for e in member_timeline(north_member) if e.verb == Verb.MEMBER_TRANSFER)
    assert event.before["unit"] == "11 Station" and event.after["unit"] == "51 Station"


def test_departure_hands_over_retires_pauses_unit_accounts_and_frees_items(
    org, north_member, north_account, owner, frozen_now
):
    user = UserFactory.create(username="alex")
    north_member.user = user
    north_member.save(update_fields=["user"])
    successor = MemberFactory.create(unit=org["traffic"])
    people_course = TrainingCourse.objects.create(name="All platforms", platforms=["x", "facebook"], validity_days=30)
    people.training_complete(member=successor, course=people_course, completed_on=timezone.localdate(), actor=owner)
    second = SocialAccountFactory.create(
        platform="facebook", handle="alex.fb", kind="personal", unit=org["11"], holder=north_member
    )
    unit_account = SocialAccountFactory.create(handle="North11", kind="unit", unit=org["11"], holder=north_member)
    item = inbox_item(north_account, assignee=user)
    lifecycle.member_depart(
        member=north_member,
        left_on=timezone.localdate(),
        successors={north_account.pk: successor, second.pk: None},
        actor=owner,
    )
    north_account.refresh_from_db()
    second.refresh_from_db()
    unit_account.refresh_from_db()
    item.refresh_from_db()
    user.refresh_from_db()
    assert north_account.holder == successor and north_account.unit == org["traffic"]
    assert second.status == SocialAccount.Status.RETIRED
    assert unit_account.holder is None and unit_account.status == SocialAccount.Status.PAUSED
    assert item.assignee is None
    assert not user.is_active
    verbs = [event.verb for event in member_timeline(north_member)]
    assert {Verb.MEMBER_LEFT, Verb.ACCOUNT_HOLDER, Verb.USER_DEACTIVATE} <= set(verbs)
    # A new holder resumes the unit account.
    lifecycle.account_change_holder(account=unit_account, holder=successor, actor=owner)
    unit_account.refresh_from_db()
    assert unit_account.status == SocialAccount.Status.ACTIVE


def test_an_untrained_successor_is_refused_with_the_reason_and_nothing_changes(org, north_member, north_account, owner):
    untrained = MemberFactory.create(full_name="Robin Untrained", unit=org["11"])
    with pytest.raises(ValidationError) as refusal:
        lifecycle.member_depart(
            member=north_member, left_on=timezone.localdate(), successors={north_account.pk: untrained}, actor=owner
        )
    assert refusal.value.messages == [
        f"{north_account.handle}: Robin Untrained has no current training that authorizes X."
    ]
    north_member.refresh_from_db()
    north_account.refresh_from_db()
    assert north_member.left_on is None and north_account.holder == north_member


def test_departure_without_a_decision_for_a_personal_account_is_refused(north_member, north_account, owner):
    with pytest.raises(ValidationError, match="Choose a successor"):
        lifecycle.member_depart(member=north_member, left_on=timezone.localdate(), successors={}, actor=owner)
    assert not TriageItem.objects.exists()


def test_a_forgotten_password_is_reset_by_email(north_member, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        people.member_invite(member=north_member, actor=owner, site_url="https://chorus.example/")
    mail.outbox.clear()
    response = SignedInClient().post("/accounts/password/reset/", {"email": north_member.email})
    assert response.status_code == 302
    [email] = mail.outbox
    assert email.to == [north_member.email] and "/accounts/password/reset/key/" in email.body
