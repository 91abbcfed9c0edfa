from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The embedded demo: seed data, the live platform doubles and `manage.py demo`. It may import every
    app; no app imports it."""

    name = "demo"
    verbose_name = "Demo"
