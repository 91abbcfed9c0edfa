"""Platform read usage and cost are organization-wide figures: only users who see the whole organization get them.

Failed before: a South supervisor's health page showed the month's reads, requests and cost of every account.
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from monitoring.models import PlatformUsage

pytestmark = pytest.mark.django_db


@pytest.fixture
def usage(org):
    return PlatformUsage.objects.create(
        platform="x", month=timezone.localdate().replace(day=1), requests=4321, reads=987_654
    )


def test_sub_unit_users_get_no_platform_usage_or_cost(client, usage, viewer, outsider, owner):
    for user in (viewer, outsider, owner):
        client.force_login(user)
        response = client.get(reverse("monitoring:health"))
        assert response.status_code == 200
        body = response.content.decode()
        assert "Reads this month" not in body
        assert "987654" not in body and "4321" not in body


def test_whoever_sees_the_whole_organization_gets_them(client, usage, admin_user):
    client.force_login(admin_user)
    body = client.get(reverse("monitoring:health")).content.decode()
    assert "Reads this month" in body and "987654" in body
