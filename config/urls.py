from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from config import views
from overview import views as overview_views
from policies.api import PolicyFlagList

# The admin has no password form of its own: it sends people to the one sign-in (lockout, second factor).
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]  # allauth's documented way

urlpatterns = [
    path("", overview_views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("org/", include("accounts_registry.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("inbox/", include("engagement.urls_inbox")),
    path("insights/", include("engagement.urls_insights")),
    path("policies/", include("policies.urls")),
    path("overview/", include("overview.urls")),
    path("alerts/", include("alerts.urls")),
    # The read-only API: policy flags come from the policies app, everything else from engagement.
    path("api/v1/policy-flags/", PolicyFlagList.as_view(), name="api-policy-flags"),
    path("api/v1/", include("engagement.api.urls")),
    path("account/tokens/", include("engagement.urls_tokens")),
    path("hooks/", include("monitoring.webhooks.urls")),
    path("admin/", admin.site.urls),
]
