from django.urls import path

from alerts import views

app_name = "alerts"

urlpatterns = [
    path("preferences/", views.preferences, name="preferences"),
    path("reports/", views.reports, name="reports"),
    path("reports/units/<int:pk>/", views.report, name="report"),
]
