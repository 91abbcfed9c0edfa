"""The leaderboard names units readably: the unit's name, its full path only as a tooltip."""

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertNotContains

pytestmark = pytest.mark.django_db


def test_units_are_named_with_the_path_as_a_title(client, admin_user, org):
    client.force_login(admin_user)
    response = client.get(reverse("insights:leaderboard"), {"level": 2})
    north = org["north"]
    assertContains(
        response,
        f'<th scope="row" class="row-heading"><a href="{reverse("registry:unit", args=[north.pk])}" '
        'title="Metro Police Service/North Division">North Division</a></th>',
        html=False,
    )
    # The path is not repeated as text beside the name.
    assertNotContains(response, ">Metro Police Service/North Division<")
    assertNotContains(response, '<span class="muted">Metro Police Service')
