import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts_registry import selectors
from accounts_registry.models import Role
from tests.factories import MemberFactory, SocialAccountFactory, TrainingFactory, UserFactory, grant, make_unit

pytestmark = pytest.mark.django_db


def test_supervisor_sees_exactly_their_subtree(org, viewer, north_account, south_account):
    units = set(selectors.visible_units(viewer).values_list("name", flat=True))
    assert units == {"North Division", "11 Station", "Traffic Team"}
    assert list(selectors.visible_accounts(viewer)) == [north_account]


def test_outsider_gets_404_and_viewer_gets_403_on_write(org, viewer, outsider, north_account):
    with pytest.raises(Http404):
        selectors.get_account_for_user(user=outsider, pk=north_account.pk)
    assert selectors.get_account_for_user(user=viewer, pk=north_account.pk) == north_account
    with pytest.raises(PermissionDenied):
        selectors.get_account_for_user(user=viewer, pk=north_account.pk, write=True)


def test_owner_may_write_in_subtree_only(org, owner, north_account, south_account):
    assert selectors.get_account_for_user(user=owner, pk=north_account.pk, write=True) == north_account
    with pytest.raises(Http404):
        selectors.get_account_for_user(user=owner, pk=south_account.pk)


def test_member_role_sees_only_own_record_and_accounts(org, north_member, north_account):
    user = UserFactory.create(username="alex")
    north_member.user = user
    north_member.save()
    grant(user, Role.MEMBER, org["11"])
    other = MemberFactory.create(unit=org["11"])
    assert list(selectors.visible_members(user)) == [north_member]
    assert other not in selectors.visible_members(user)
    assert list(selectors.visible_accounts(user)) == [north_account]
    assert not selectors.visible_units(user).exists()


def test_user_without_grants_sees_nothing(org, north_account):
    user = UserFactory.create()
    assert not selectors.visible_units(user).exists()
    assert not selectors.visible_accounts(user).exists()


def test_grants_on_nested_units_collapse_to_the_outer_prefix(org):
    user = UserFactory.create()
    grant(user, Role.SUPERVISOR, org["north"])
    grant(user, Role.SUPERVISOR, org["11"])
    assert selectors.scope_for(user).read_paths == (org["north"].path,)


def test_moving_a_unit_changes_visibility_on_the_next_scope(org, viewer, south_account):
    from accounts_registry.services.units import unit_move

    assert not selectors.scope_for(viewer).covers(south_account.unit.path)
    unit_move(unit=org["51"], new_parent=org["north"], actor=None)
    south_account.unit.refresh_from_db()
    assert selectors.scope_for(viewer).covers(south_account.unit.path)


def test_unit_tree_rolls_counts_up_the_hierarchy(org, admin_user, north_account, south_account):
    SocialAccountFactory.create(unit=org["traffic"], handle="TrafficNorth")
    (root,) = selectors.unit_tree(admin_user)
    assert (root.unit.name, root.accounts, root.members) == ("Metro Police Service", 3, 2)
    north = next(node for node in root.children if node.unit.name == "North Division")
    assert (north.accounts, north.members, north.own_accounts) == (2, 1, 0)


def test_unit_paths_names_every_level(org):
    assert selectors.unit_paths([org["11"]]) == {org["11"].pk: "Metro Police Service/North Division/11 Station"}


def test_governance_lists_left_holders_and_lapsed_training(org, admin_user):
    left = MemberFactory.create(unit=org["11"], left_on=datetime.date(2026, 3, 1))
    TrainingFactory.create(member=left)
    lapsed = MemberFactory.create(unit=org["11"])
    TrainingFactory.create(member=lapsed, expires_on=datetime.date(2026, 6, 30))
    fine = MemberFactory.create(unit=org["11"])
    TrainingFactory.create(member=fine)
    SocialAccountFactory.create(unit=org["11"], kind="personal", holder=left, handle="LeftOfficer")
    SocialAccountFactory.create(unit=org["11"], kind="personal", holder=lapsed, handle="LapsedOfficer")
    SocialAccountFactory.create(unit=org["11"], kind="personal", holder=fine, handle="FineOfficer")
    now = datetime.datetime(2026, 11, 28, 12, 0, tzinfo=datetime.UTC)
    problems = selectors.governance_problems(admin_user, now=now)
    assert {(p.account.handle, p.check) for p in problems} == {
        ("LeftOfficer", "holder_left"),
        ("LapsedOfficer", "training_expired"),
    }


def test_deeper_grant_does_not_leak_to_siblings(org):
    station_12 = make_unit("12 Station", org["north"])
    user = UserFactory.create()
    grant(user, Role.SUPERVISOR, org["11"])
    visible = set(selectors.visible_units(user).values_list("pk", flat=True))
    assert visible == {org["11"].pk}
    assert station_12.pk not in visible
