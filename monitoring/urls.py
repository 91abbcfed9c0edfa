from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("health/", views.health, name="health"),
    path("health/export.csv", views.health_export, name="health-export"),
    path("dormant/", views.dormant, name="dormant"),
    path("dormant/export.csv", views.dormant_export, name="dormant-export"),
    path("first-poll/", views.first_poll, name="first-poll"),
    path("accounts/<int:pk>/messages/", views.account_messages, name="account-messages"),
    path("accounts/<int:pk>/skipped/", views.account_skipped, name="account-skipped"),
]
