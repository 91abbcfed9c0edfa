"""Webhook endpoints, mounted at /hooks/ (the URLs registered with X and Meta: no trailing slash)."""

from django.urls import path

from monitoring import views_webhooks

app_name = "webhooks"

urlpatterns = [
    path("x", views_webhooks.x_webhook, name="x"),
    path("meta", views_webhooks.meta_webhook, name="meta"),
]
