from django.urls import path

from accounts_registry.views import accounts, audit, imports, moves, onboarding, org, people, security

app_name = "registry"

urlpatterns = [
    path("", org.tree, name="tree"),
    path("units/<int:pk>/", org.unit_detail, name="unit"),
    path("units/<int:pk>/children/", org.unit_children, name="unit-children"),
    path("units/<int:pk>/edit/", org.unit_edit, name="unit-edit"),
    path("members/new/", people.member_new, name="member-new"),
    path("members/<int:pk>/", org.member_detail, name="member"),
    path("members/<int:pk>/edit/", people.member_edit, name="member-edit"),
    path("members/<int:pk>/training/", people.member_training, name="member-training"),
    path("members/<int:pk>/invite/", people.member_invite, name="member-invite"),
    path("members/<int:pk>/deactivate/", people.member_deactivate, name="member-deactivate"),
    path("members/<int:pk>/roles/", people.member_roles, name="member-roles"),
    path("members/<int:pk>/transfer/", moves.member_transfer, name="member-transfer"),
    path("members/<int:pk>/departure/", moves.member_departure, name="member-departure"),
    path("accounts/<int:pk>/holder/", moves.account_holder, name="account-holder"),
    path("courses/", people.courses, name="courses"),
    path("accounts/<int:pk>/", accounts.account_detail, name="account"),
    path("accounts/<int:pk>/status/", accounts.account_status, name="account-status"),
    path("accounts/<int:pk>/credentials/", accounts.account_credentials, name="account-credentials"),
    path("governance/", org.governance, name="governance"),
    path("onboard/", onboarding.onboard, name="onboard"),
    path("import/", imports.import_upload, name="import"),
    path("export.csv", imports.export_csv, name="export"),
    path("security/", security.security_events, name="security"),
    path("audit/", audit.audit_log, name="audit"),
    path("audit/export.csv", audit.audit_export, name="audit-export"),
]
