from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config import views
from policies.api import PolicyFlagList

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("org/", include("accounts_registry.urls")),
    path("monitoring/", include("monitoring.urls")),
    path("inbox/", include("engagement.urls_inbox")),
    path("insights/", include("engagement.urls_insights")),
    path("policies/", include("policies.urls")),
    # The read-only API: policy flags come from the policies app, everything else from engagement.
    path("api/v1/policy-flags/", PolicyFlagList.as_view(), name="api-policy-flags"),
    path("api/v1/", include("engagement.api.urls")),
    path("account/tokens/", include("engagement.urls_tokens")),
    path("hooks/", include("monitoring.webhooks.urls")),
    path("admin/", admin.site.urls),
]
