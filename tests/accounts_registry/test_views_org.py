import datetime
from typing import cast

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains, assertRedirects

from accounts_registry.models import AuditEvent, Member, OrgUnit, Role, SocialAccount
from tests.factories import MemberFactory, SocialAccountFactory, TrainingFactory, UserFactory, grant, make_unit

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def grow(parent, *, units, prefix):
    """Add `units` sub-units (each with a sub-sub-unit), members with trainings and accounts in various states."""
    for index in range(units):
        unit = make_unit(f"{prefix} {index}", parent)
        team = make_unit(f"{prefix} {index} team", unit, kind="team")
        for place in (unit, team):
            member = MemberFactory(unit=place)
            TrainingFactory(member=member, expires_on=datetime.date(2020, 1, 1), completed_on=datetime.date(2019, 1, 1))
            SocialAccountFactory(unit=place, kind="personal", holder=member)
            SocialAccountFactory(
                unit=place,
                status=SocialAccount.Status.PENDING,
                status_changed_at=timezone.now() - datetime.timedelta(days=60),
            )
            SocialAccountFactory(unit=place, status=SocialAccount.Status.NEEDS_RECONNECT)


def parent_path(unit):
    return OrgUnit.objects.get(pk=unit.pk).path[: -OrgUnit.steplen]


def num_queries(client, url, **kwargs):
    with CaptureQueriesContext(connection) as context:
        response = client.get(url, **kwargs)
    assert response.status_code == 200
    return len(context)


def assert_constant_queries(client, url, django_assert_num_queries, *, grow_under, **kwargs):
    client.get(url, **kwargs)  # warm up caches that are filled once per process
    small = num_queries(client, url, **kwargs)
    grow(grow_under, units=8, prefix="Extra")
    with django_assert_num_queries(small):
        response = client.get(url, **kwargs)
    assertContains(response, "Extra 7")
    return response


# --- Access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tree", "governance", "unit", "unit-children", "unit-edit", "member"])
def test_anonymous_is_sent_to_login(client, org, north_member, name):
    pk = {"unit": org["north"].pk, "unit-children": org["north"].pk, "unit-edit": org["north"].pk}.get(
        name, north_member.pk
    )
    url = reverse(f"registry:{name}") if name in {"tree", "governance"} else reverse(f"registry:{name}", args=[pk])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("name", ["unit", "unit-children", "unit-edit"])
def test_outsider_gets_404_for_north_units(client, org, outsider, name):
    client.force_login(outsider)
    assert client.get(reverse(f"registry:{name}", args=[org["north"].pk]), headers=HX).status_code == 404
    assert client.post(reverse("registry:unit-edit", args=[org["11"].pk]), {"action": "deactivate"}).status_code == 404
    assert OrgUnit.objects.get(pk=org["11"].pk).is_active


# --- Tree ---------------------------------------------------------------------------------------


def test_tree_shows_visible_units_with_rolled_up_counts(client, org, viewer, north_account, south_account):
    client.force_login(viewer)
    response = client.get(reverse("registry:tree"))
    assertContains(response, "North Division")
    assertContains(response, "1 account · 1 member")
    assertContains(response, reverse("registry:unit", args=[org["11"].pk]))
    assertContains(response, reverse("registry:export"))
    assertNotContains(response, "South Division")
    assertNotContains(response, "Metro Police Service")
    assertNotContains(response, reverse("registry:onboard"))


def test_tree_links_admins_to_onboarding_and_import(client, org, owner):
    client.force_login(owner)
    response = client.get(reverse("registry:tree"))
    assertContains(response, reverse("registry:onboard"))
    assertContains(response, reverse("registry:import"))


def test_tree_renders_two_levels_and_lazy_loads_deeper_ones(client, org, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("registry:tree"))
    body = response.content.decode()
    assert "Metro Police Service" in body
    assert "North Division" in body
    # Third level is collapsed: only loaded (or reached through the unit page) on demand.
    assert "11 Station" not in body
    children_url = reverse("registry:unit-children", args=[org["north"].pk])
    assert f'hx-get="{children_url}" hx-trigger="toggle once"' in body
    assert f'href="{reverse("registry:unit", args=[org["north"].pk])}"' in body


def test_member_only_user_is_pointed_to_their_own_page(client, org, north_member):
    user = UserFactory(username="alex")
    north_member.user = user
    north_member.save()
    grant(user, Role.MEMBER, org["11"])
    client.force_login(user)
    response = client.get(reverse("registry:tree"))
    assertContains(response, "My page")
    assertContains(response, reverse("registry:member", args=[north_member.pk]))
    assertNotContains(response, "North Division")


def test_tree_query_count_does_not_grow_with_units(client, org, admin_user, django_assert_num_queries):
    client.force_login(admin_user)
    # Grown under a division so the new units show at the second level as well as deeper.
    response = assert_constant_queries(
        client, reverse("registry:tree"), django_assert_num_queries, grow_under=org["root"]
    )
    assertContains(response, "Extra 0")


# --- Children fragment --------------------------------------------------------------------------


def test_unit_children_returns_only_the_fragment_on_htmx(client, org, viewer, north_account):
    client.force_login(viewer)
    response = client.get(reverse("registry:unit-children", args=[org["north"].pk]), headers=HX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert "11 Station" in body and "Traffic Team" in body
    assert "1 account · 1 member" in body
    assert "HX-Request" in response["Vary"]


def test_unit_children_without_htmx_redirects_to_the_unit_page(client, org, viewer):
    client.force_login(viewer)
    response = client.get(reverse("registry:unit-children", args=[org["north"].pk]))
    assertRedirects(response, reverse("registry:unit", args=[org["north"].pk]))
    assert "HX-Request" in response["Vary"]


def test_unit_children_query_count_is_constant(client, org, viewer, django_assert_num_queries):
    client.force_login(viewer)
    url = reverse("registry:unit-children", args=[org["north"].pk])
    assert_constant_queries(client, url, django_assert_num_queries, grow_under=org["north"], headers=HX)


# --- Unit page ----------------------------------------------------------------------------------


def test_unit_page_lists_subtree_accounts_and_members(frozen_now, client, org, viewer, north_account, south_account):
    left = MemberFactory(full_name="Pat Gone", unit=org["traffic"], left_on=datetime.date(2025, 3, 1))
    expiring = MemberFactory(full_name="Kim Soon", unit=org["traffic"])
    TrainingFactory(member=expiring, expires_on=timezone.localdate() + datetime.timedelta(days=10))
    MemberFactory(full_name="Lee Untrained", unit=org["11"])
    client.force_login(viewer)
    response = client.get(reverse("registry:unit", args=[org["north"].pk]))
    assertContains(response, "TPS11Alex")
    assertContains(response, reverse("registry:account", args=[north_account.pk]))
    assertContains(response, '<span class="badge badge-active">Active</span>', html=True)
    assertContains(response, "Personal (officer)")
    assertContains(response, "Alex North")
    assertContains(response, "Left 2025-03-01")
    assertContains(response, '<span class="badge badge-expiring">Expiring soon</span>', html=True)
    assertContains(response, '<span class="badge badge-none">No training</span>', html=True)
    assertContains(response, '<span class="badge badge-current">Current</span>', html=True)
    assert left.full_name in response.content.decode()
    assertNotContains(response, "TPS51Sam")
    assertNotContains(response, "Sam South")
    # Breadcrumbs show only ancestors the viewer may see; the read-only viewer gets no edit link.
    assertNotContains(response, "Metro Police Service")
    assertNotContains(response, reverse("registry:unit-edit", args=[org["north"].pk]))


def test_unit_page_breadcrumbs_and_edit_link_for_admin(client, org, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("registry:unit", args=[org["11"].pk]))
    assertContains(response, f'<a href="{reverse("registry:unit", args=[org["root"].pk])}">Metro Police Service</a>')
    assertContains(response, f'<a href="{reverse("registry:unit", args=[org["north"].pk])}">North Division</a>')
    assertContains(response, reverse("registry:unit-edit", args=[org["11"].pk]))


def test_unit_page_query_count_is_constant(client, org, viewer, north_account, django_assert_num_queries):
    client.force_login(viewer)
    url = reverse("registry:unit", args=[org["north"].pk])
    assert_constant_queries(client, url, django_assert_num_queries, grow_under=org["north"])


def test_hostile_names_are_escaped(client, org, owner):
    unit = make_unit(SCRIPT, org["north"])
    member = cast("Member", MemberFactory(full_name=IMG, rank=SCRIPT, unit=unit))
    SocialAccountFactory(unit=unit, handle=SCRIPT, kind="personal", holder=member, status="needs_reconnect")
    client.force_login(owner)
    pages = [
        client.get(reverse("registry:tree")),
        client.get(reverse("registry:unit-children", args=[org["north"].pk]), headers=HX),
        client.get(reverse("registry:unit", args=[unit.pk])),
        client.get(reverse("registry:unit-edit", args=[unit.pk])),
        client.get(reverse("registry:member", args=[member.pk])),
        client.get(reverse("registry:governance")),
    ]
    for response in pages:
        assert response.status_code == 200
        body = response.content.decode()
        assert "<script>alert" not in body
        assert "<img src=x" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


# --- Unit edit ----------------------------------------------------------------------------------


def test_viewer_gets_403_on_unit_edit(client, org, viewer):
    client.force_login(viewer)
    url = reverse("registry:unit-edit", args=[org["11"].pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"action": "rename", "name": "Hacked"}).status_code == 403
    assert OrgUnit.objects.get(pk=org["11"].pk).name == "11 Station"
    assert not AuditEvent.objects.changes().exists()


def test_owner_sees_only_valid_move_targets(client, org, owner):
    client.force_login(owner)
    response = client.get(reverse("registry:unit-edit", args=[org["traffic"].pk]))
    assertContains(response, f'<option value="{org["11"].pk}">Metro Police Service/North Division/11 Station</option>')
    assertNotContains(response, f'<option value="{org["north"].pk}"')  # current parent
    assertNotContains(response, f'<option value="{org["traffic"].pk}"')  # itself
    assertNotContains(response, "South Division")
    # North holds the owner's own grant: there is nowhere they administer to move it.
    assertContains(client.get(reverse("registry:unit-edit", args=[org["north"].pk])), "could move under")


def test_owner_renames_a_unit(client, org, owner):
    client.force_login(owner)
    response = client.post(
        reverse("registry:unit-edit", args=[org["11"].pk]), {"action": "rename", "name": "12 Station"}
    )
    assertRedirects(response, reverse("registry:unit", args=[org["11"].pk]), fetch_redirect_response=False)
    assert OrgUnit.objects.get(pk=org["11"].pk).name == "12 Station"
    event = AuditEvent.objects.get(verb="unit.rename")
    assert (event.actor, event.before, event.after) == (owner, {"name": "11 Station"}, {"name": "12 Station"})
    assertContains(client.get(response["Location"]), "is now called “12 Station”")


def test_rename_to_a_sibling_name_shows_the_error(client, org, owner):
    client.force_login(owner)
    response = client.post(
        reverse("registry:unit-edit", args=[org["11"].pk]), {"action": "rename", "name": "traffic team"}
    )
    assertContains(response, "already exists at this level", status_code=200)
    assert OrgUnit.objects.get(pk=org["11"].pk).name == "11 Station"
    assert not AuditEvent.objects.changes().exists()


def test_owner_moves_a_unit(client, org, owner):
    client.force_login(owner)
    url = reverse("registry:unit-edit", args=[org["traffic"].pk])
    response = client.post(url, {"action": "move", "parent": org["11"].pk})
    assertRedirects(response, reverse("registry:unit", args=[org["traffic"].pk]))
    assert parent_path(org["traffic"]) == org["11"].path
    event = AuditEvent.objects.get(verb="unit.move")
    assert (event.actor, event.after) == (owner, {"parent": "11 Station"})


def test_move_into_own_subtree_is_refused(client, org, admin_user):
    client.force_login(admin_user)
    response = client.post(
        reverse("registry:unit-edit", args=[org["north"].pk]), {"action": "move", "parent": org["11"].pk}
    )
    assertContains(response, "not this unit or one of its sub-units", status_code=200)
    assert parent_path(org["north"]) == org["root"].path
    assert not AuditEvent.objects.changes().exists()


def test_move_needs_write_permission_on_the_new_parent(client, org, owner):
    grant(owner, Role.SUPERVISOR, org["south"])  # may read South, not change it
    client.force_login(owner)
    response = client.post(
        reverse("registry:unit-edit", args=[org["11"].pk]), {"action": "move", "parent": org["51"].pk}
    )
    assertContains(response, "Choose a unit you administer", status_code=200)
    assert OrgUnit.objects.get(pk=org["11"].pk).path.startswith(org["north"].path)
    assert not AuditEvent.objects.changes().exists()


def test_owner_deactivates_and_reactivates_a_unit(client, org, owner):
    client.force_login(owner)
    url = reverse("registry:unit-edit", args=[org["11"].pk])
    assertRedirects(client.post(url, {"action": "deactivate"}), reverse("registry:unit", args=[org["11"].pk]))
    assert not OrgUnit.objects.get(pk=org["11"].pk).is_active
    assertContains(client.get(url), "Reactivate 11 Station")
    client.post(url, {"action": "reactivate"})
    assert OrgUnit.objects.get(pk=org["11"].pk).is_active
    assert list(AuditEvent.objects.order_by("id").values_list("verb", flat=True)) == [
        "unit.deactivate",
        "unit.activate",
    ]


def test_deactivating_the_unit_of_ones_own_grant_returns_to_the_tree(client, org, owner):
    client.force_login(owner)
    response = client.post(reverse("registry:unit-edit", args=[org["north"].pk]), {"action": "deactivate"})
    assertRedirects(response, reverse("registry:tree"), fetch_redirect_response=False)
    assert not OrgUnit.objects.get(pk=org["north"].pk).is_active
    assert client.get(reverse("registry:unit", args=[org["north"].pk])).status_code == 404


# --- Member page --------------------------------------------------------------------------------


def test_member_page_shows_training_and_accounts(
    frozen_now, client, org, viewer, outsider, north_member, north_account
):
    client.force_login(viewer)
    response = client.get(reverse("registry:member", args=[north_member.pk]))
    assertContains(response, "Alex North")
    assertContains(response, north_member.badge_number)
    assertContains(response, "Social Media Spokesperson")
    assertContains(response, "2028-01-24")  # trained 300 days before the frozen now, for two years
    assertContains(response, "x, facebook, instagram, bluesky, mastodon")
    assertContains(response, '<span class="badge badge-current">Current</span>', html=True)
    assertContains(response, reverse("registry:account", args=[north_account.pk]))
    assertContains(response, reverse("registry:unit", args=[org["11"].pk]))
    client.force_login(outsider)
    assert client.get(reverse("registry:member", args=[north_member.pk])).status_code == 404


def test_member_role_user_sees_only_their_own_page(client, org, north_member, north_account):
    user = UserFactory(username="alex")
    north_member.user = user
    north_member.save()
    grant(user, Role.MEMBER, org["11"])
    colleague = cast("Member", MemberFactory(unit=org["11"]))
    client.force_login(user)
    response = client.get(reverse("registry:member", args=[north_member.pk]))
    assertContains(response, "TPS11Alex")
    assertNotContains(response, reverse("registry:unit", args=[org["11"].pk]))  # would 404 for them
    assert client.get(reverse("registry:member", args=[colleague.pk])).status_code == 404


# --- Governance ---------------------------------------------------------------------------------


def test_governance_lists_problems_of_visible_accounts(client, org, viewer, north_member, south_member):
    north_member.left_on = datetime.date(2025, 1, 1)
    north_member.save()
    south_member.left_on = datetime.date(2025, 1, 1)
    south_member.save()
    account = cast(
        "SocialAccount", SocialAccountFactory(unit=org["11"], handle="LeftBehind", kind="personal", holder=north_member)
    )
    SocialAccountFactory(unit=org["51"], handle="SouthLeft", kind="personal", holder=south_member)
    SocialAccountFactory(
        unit=org["traffic"],
        handle="Broken",
        status=SocialAccount.Status.NEEDS_RECONNECT,
        status_changed_at=timezone.now() - datetime.timedelta(days=8),
    )
    SocialAccountFactory(unit=org["traffic"], handle="JustBroken", status=SocialAccount.Status.NEEDS_RECONNECT)
    client.force_login(viewer)
    response = client.get(reverse("registry:governance"))
    assertContains(response, f"The holder, {north_member.full_name}, left the organization on 2025-01-01.")
    assertContains(response, reverse("registry:account", args=[account.pk]))
    assertContains(response, "Metro Police Service/North Division/11 Station")
    assertContains(response, "Needs reconnecting since")
    assertNotContains(response, "JustBroken")  # the health page shows it at once; governance after 7 days
    assertNotContains(response, "SouthLeft")


def test_governance_sorts_by_reason(client, org, viewer):
    SocialAccountFactory(
        unit=org["11"],
        handle="AaaPending",
        status=SocialAccount.Status.PENDING,
        status_changed_at=timezone.now() - datetime.timedelta(days=30),
    )
    SocialAccountFactory(
        unit=org["traffic"],
        handle="ZzzBroken",
        status=SocialAccount.Status.NEEDS_RECONNECT,
        status_changed_at=timezone.now() - datetime.timedelta(days=8),
    )
    client.force_login(viewer)
    by_unit = client.get(reverse("registry:governance")).content.decode()
    by_reason = client.get(reverse("registry:governance"), {"sort": "reason"}).content.decode()
    assert by_unit.index("AaaPending") < by_unit.index("ZzzBroken")  # 11 Station before Traffic Team
    assert by_reason.index("ZzzBroken") < by_reason.index("AaaPending")  # "Needs reconnecting" before "Pending"


def test_governance_query_count_is_constant(client, org, viewer, north_account, django_assert_num_queries):
    SocialAccountFactory(  # one problem to start with
        unit=org["11"],
        status=SocialAccount.Status.PENDING,
        status_changed_at=timezone.now() - datetime.timedelta(days=30),
    )
    client.force_login(viewer)
    assert_constant_queries(client, reverse("registry:governance"), django_assert_num_queries, grow_under=org["north"])
