from django.urls import URLPattern, path

from overview import views

app_name = "overview"

urlpatterns: list[URLPattern] = [
    path("units/<int:pk>/children/", views.unit_children, name="children"),
    path("units/<int:pk>/", views.unit_activity, name="unit"),
    path("units/<int:pk>/report/", views.unit_report, name="report"),
    path("units/<int:pk>/export.csv", views.rollup_export, name="rollup-export"),
    path("accounts/<int:pk>/", views.account_activity, name="account"),
]
