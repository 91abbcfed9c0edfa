"""Webhook endpoints, mounted at /hooks/ (the URLs registered with X and Meta: no trailing slash)."""

from django.urls import path

from monitoring.webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("x", views.x_webhook, name="x"),
    path("meta", views.meta_webhook, name="meta"),
]
