import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accounts_registry.models import AuditEvent, RoleGrant
from accounts_registry.selectors import visible_units

pytestmark = pytest.mark.django_db


def test_grant_role_creates_user_without_usable_password_and_scopes_them(org, capsys):
    call_command("grant_role", "newsup", "supervisor", "Metro Police Service/South Division")
    user = get_user_model().objects.get(username="newsup")
    assert not user.has_usable_password()
    assert set(visible_units(user).values_list("name", flat=True)) == {"South Division", "51 Station"}
    assert AuditEvent.objects.filter(verb="role.grant").count() == 1
    assert "Granted supervisor" in capsys.readouterr().out


def test_grant_role_twice_is_a_no_op(org):
    call_command("grant_role", "newsup", "admin", "Metro Police Service")
    call_command("grant_role", "newsup", "admin", "Metro Police Service")
    assert RoleGrant.objects.filter(user__username="newsup").count() == 1
    assert AuditEvent.objects.filter(verb="role.grant").count() == 1


def test_grant_role_unknown_path_is_a_clear_error(org):
    with pytest.raises(CommandError, match="No unit at path"):
        call_command("grant_role", "newsup", "admin", "Metro Police Service/Nowhere")
    assert not get_user_model().objects.filter(username="newsup").exists()


def test_revoke_role_takes_effect_on_next_scope(org, viewer):
    assert visible_units(viewer).exists()
    call_command("revoke_role", viewer.username, "supervisor", "Metro Police Service/North Division")
    viewer = get_user_model().objects.get(pk=viewer.pk)  # a new request gets a fresh user object
    assert not visible_units(viewer).exists()
    assert AuditEvent.objects.filter(verb="role.revoke").count() == 1


def test_revoke_missing_grant_fails(org, viewer):
    with pytest.raises(CommandError, match="holds no admin grant"):
        call_command("revoke_role", viewer.username, "admin", "Metro Police Service/North Division")
