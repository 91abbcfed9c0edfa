"""The Django admin is a read-only window on the domain models: every write goes through the services."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import RequestFactory

from accounts_registry.models import AuditEvent
from engagement.models import ClassifierRule
from engagement.services.tokens import api_token_create, api_token_revoke

pytestmark = pytest.mark.django_db

DOMAIN_APPS = {"accounts_registry", "engagement", "monitoring", "policies"}
# Tuning configuration with no page of its own yet; not a record of people, accounts or decisions.
STILL_EDITABLE = {ClassifierRule}


@pytest.fixture
def superuser():
    return User.objects.create_superuser("root-admin", "root@example.org", "correct horse battery staple")


@pytest.fixture
def staff_client(client, superuser):
    client.force_login(superuser)
    return client


def _domain_admins():
    return [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in DOMAIN_APPS and model not in STILL_EDITABLE
    ]


def test_every_domain_model_admin_is_read_only(superuser):
    request = RequestFactory().get("/admin/")
    request.user = superuser
    admins = _domain_admins()
    named = {
        "Member",
        "Training",
        "TrainingCourse",
        "OrgUnit",
        "RoleGrant",
        "SocialAccount",
        "TriageItem",
        "TriageNote",
        "Feedback",
    }
    assert {model.__name__ for model, _ in admins} >= {*named, "ApiToken"}
    for model, model_admin in admins:
        assert model_admin.has_view_permission(request), model
        assert not model_admin.has_add_permission(request), model
        assert not model_admin.has_change_permission(request), model
        assert not model_admin.has_delete_permission(request), model
        for inline in model_admin.get_inline_instances(request):
            assert not inline.has_add_permission(request, None), (model, inline)


def test_a_revoked_api_token_cannot_be_revived_in_the_admin(staff_client, viewer):
    token, _key = api_token_create(user=viewer, name="report", actor=viewer)
    api_token_revoke(token=token, actor=viewer)
    url = f"/admin/engagement/apitoken/{token.pk}/change/"
    response = staff_client.post(url, {"name": "report", "user": viewer.pk, "revoked_at": ""})
    assert response.status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert staff_client.get(url).status_code == 200  # still visible, read-only


def test_no_social_account_is_added_in_the_admin_past_onboarding(staff_client, org, north_member):
    response = staff_client.post(
        "/admin/accounts_registry/socialaccount/add/",
        {"platform": "x", "handle": "Sneaky", "kind": "unit", "unit": org["north"].pk, "status": "active"},
    )
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(verb="account.create").exists()


def test_accounts_cannot_be_deleted_from_the_admin(staff_client, north_account):
    url = f"/admin/accounts_registry/socialaccount/{north_account.pk}/delete/"
    assert staff_client.post(url, {"post": "yes"}).status_code == 403


def test_deactivating_a_user_in_the_admin_ends_their_sessions(staff_client, viewer, client_factory):
    officer = client_factory()
    officer.force_login(viewer)
    url = f"/admin/auth/user/{viewer.pk}/change/"
    form = {
        "username": viewer.username, "email": viewer.email, "is_active": "", "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00", "initial-date_joined_0": "2026-01-01", "initial-date_joined_1": "00:00:00",
    }  # fmt: skip
    response = staff_client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:3000]
    viewer.refresh_from_db()
    assert not viewer.is_active
    event = AuditEvent.objects.get(verb=AuditEvent.Verb.USER_DEACTIVATE)
    assert event.after["sessions_ended"] == 1
    assert officer.get("/org/").status_code == 302  # signed out
