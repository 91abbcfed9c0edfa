import pytest
from django.contrib.auth.models import User

from accounts_registry.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = User.objects.create_superuser("root-admin", "root@example.org", "correct horse battery staple")
    client.force_login(user)
    return client


def test_admin_edit_of_an_account_is_audited(staff_client, org, north_account):
    url = f"/admin/accounts_registry/socialaccount/{north_account.pk}/change/"
    response = staff_client.post(
        url,
        {
            "platform": "x", "handle": "TPS11AlexNew", "external_id": "", "instance_url": "", "kind": "personal",
            "unit": org["traffic"].pk, "holder": north_account.holder_id,
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    event = AuditEvent.objects.get(verb="account.admin_edit")
    assert event.before["handle"] == "TPS11Alex" and event.after["handle"] == "TPS11AlexNew"
    assert event.after["unit"] == "Traffic Team"
    assert "credentials" not in str(event.after)


def test_accounts_cannot_be_deleted_from_the_admin(staff_client, north_account):
    url = f"/admin/accounts_registry/socialaccount/{north_account.pk}/delete/"
    assert staff_client.post(url, {"post": "yes"}).status_code == 403
