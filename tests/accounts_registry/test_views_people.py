"""The people pages: what an admin does in the browser, scoped to their subtree, with hostile text escaped."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts_registry.models import AuditEvent, Member, Role, RoleGrant, TrainingCourse
from accounts_registry.services import people
from tests.factories import HOSTILE, MemberFactory, UserFactory, grant

pytestmark = pytest.mark.django_db


def test_an_admin_adds_a_member_in_their_subtree_only(client, owner, org):
    client.force_login(owner)
    page = client.get(reverse("registry:member-new"))
    assert "51 Station" not in page.content.decode()  # South is not offered
    data = {"full_name": "Jo Park", "badge_number": "P100", "rank": "PC", "email": "jo@police.example"}
    response = client.post(reverse("registry:member-new"), {**data, "unit": org["51"].pk})
    assert response.status_code == 200 and not Member.objects.filter(badge_number="P100").exists()
    response = client.post(reverse("registry:member-new"), {**data, "unit": org["11"].pk})
    member = Member.objects.get(badge_number="P100")
    assert response.status_code == 302 and member.unit == org["11"]


def test_a_duplicate_badge_is_refused_with_the_reason(client, owner, org, south_member):
    client.force_login(owner)
    data = {"full_name": "Jo", "badge_number": south_member.badge_number, "unit": org["11"].pk}
    response = client.post(reverse("registry:member-new"), data)
    assert "badge number already exists" in response.content.decode().lower()


def test_member_page_shows_training_per_platform_and_an_escaped_timeline(client, owner, north_member):
    north_member.full_name = HOSTILE
    north_member.save(update_fields=["full_name"])
    course = TrainingCourse.objects.create(name=HOSTILE, platforms=["x"], validity_days=10)
    client.force_login(owner)
    response = client.post(
        reverse("registry:member-training", args=[north_member.pk]),
        {"course": course.pk, "completed_on": timezone.localdate().isoformat(), "certificate_ref": "C-1"},
    )
    assert response.status_code == 302
    body = client.get(reverse("registry:member", args=[north_member.pk])).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body
    assert "May hold a personal account" in body
    assert "Training recorded" in body  # the timeline
    assert body.count("<h2>Timeline</h2>") == 1  # once, in the page (never inside <title>)
    title = body.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<h2>" not in title and "&lt;script&gt;" in title


def test_a_supervisor_sees_the_member_page_without_admin_actions(client, viewer, north_member):
    client.force_login(viewer)
    body = client.get(reverse("registry:member", args=[north_member.pk])).content.decode()
    assert "Record departure" not in body and "Timeline" not in body


def test_roles_are_granted_only_on_units_the_admin_administers(client, owner, org, north_member):
    north_member.user = UserFactory.create(username="alex")
    north_member.save(update_fields=["user"])
    client.force_login(owner)
    url = reverse("registry:member-roles", args=[north_member.pk])
    client.post(url, {"role": Role.SUPERVISOR, "unit": org["51"].pk})
    assert not RoleGrant.objects.filter(user=north_member.user, unit=org["51"]).exists()
    client.post(url, {"role": Role.SUPERVISOR, "unit": org["traffic"].pk})
    new = RoleGrant.objects.get(user=north_member.user, unit=org["traffic"], role=Role.SUPERVISOR)
    assert AuditEvent.objects.filter(verb=AuditEvent.Verb.ROLE_GRANT).exists()
    south_grant = grant(north_member.user, Role.SUPERVISOR, org["51"])
    assert client.post(url, {"revoke": south_grant.pk}).status_code == 404  # not theirs to revoke
    client.post(url, {"revoke": new.pk})
    assert not RoleGrant.objects.filter(pk=new.pk).exists()


def test_an_untrained_successor_is_refused_in_the_browser_with_the_reason(
    client, owner, org, north_member, north_account
):
    untrained = MemberFactory.create(full_name="Robin Untrained", unit=org["11"])
    client.force_login(owner)
    response = client.post(
        reverse("registry:member-departure", args=[north_member.pk]),
        {"left_on": timezone.localdate().isoformat(), f"account_{north_account.pk}": str(untrained.pk)},
    )
    assert response.status_code == 200
    assert "Robin Untrained has no current training that authorizes X." in response.content.decode()
    north_member.refresh_from_db()
    assert north_member.left_on is None


def test_holder_change_offers_only_members_of_the_admins_subtree(client, owner, north_account, south_member):
    client.force_login(owner)
    url = reverse("registry:account-holder", args=[north_account.pk])
    assert south_member.full_name not in client.get(url).content.decode()
    response = client.post(url, {"holder": south_member.pk})
    assert response.status_code == 200  # not a choice: the form refuses it
    north_account.refresh_from_db()
    assert north_account.holder != south_member


def test_transfer_lists_the_old_units_grants_to_keep_or_revoke(client, admin_user, org, north_member):
    north_member.user = UserFactory.create(username="alex")
    north_member.save(update_fields=["user"])
    grant(north_member.user, Role.SUPERVISOR, org["11"])
    client.force_login(admin_user)
    response = client.post(reverse("registry:member-transfer", args=[north_member.pk]), {"unit": org["51"].pk})
    body = response.content.decode()
    assert response.status_code == 200 and "Supervisor of 11 Station" in body and "Revoke" in body
    north_member.refresh_from_db()
    assert north_member.unit == org["51"]


def test_the_member_page_costs_the_same_queries_however_long_the_history(
    client, owner, north_member, django_assert_max_num_queries
):
    course = TrainingCourse.objects.create(name="X", platforms=["x"], validity_days=30)
    client.force_login(owner)
    url = reverse("registry:member", args=[north_member.pk])
    client.get(url)
    with django_assert_max_num_queries(40) as few:
        client.get(url)
    for days in range(1, 15):
        people.training_complete(
            member=north_member,
            course=course,
            completed_on=timezone.localdate() - datetime.timedelta(days=days),
            actor=owner,
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)
