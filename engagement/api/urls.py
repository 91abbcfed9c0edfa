from django.urls import URLPattern, URLResolver, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny

from engagement.api import views

app_name = "api"
urlpatterns: list[URLPattern | URLResolver] = [
    path("triage-items/", views.TriageItemList.as_view(), name="triage-items"),
    path("accounts/", views.AccountList.as_view(), name="accounts"),
    path("units/", views.UnitList.as_view(), name="units"),
    path("metrics/", views.MetricsView.as_view(), name="metrics"),
    # The schema holds no data: public, and no token is even looked at (a bad one cannot make it fail).
    path(
        "schema/",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[AllowAny]),
        name="schema",
    ),
]
