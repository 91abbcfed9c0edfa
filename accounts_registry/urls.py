from django.urls import path

from accounts_registry.views import accounts, audit, imports, onboarding, org, security

app_name = "registry"

urlpatterns = [
    path("", org.tree, name="tree"),
    path("units/<int:pk>/", org.unit_detail, name="unit"),
    path("units/<int:pk>/children/", org.unit_children, name="unit-children"),
    path("units/<int:pk>/edit/", org.unit_edit, name="unit-edit"),
    path("members/<int:pk>/", org.member_detail, name="member"),
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
