from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project itself as an app, so that its deployment checks register without an app importing config."""

    name = "config"
    label = "chorus_project"
    verbose_name = "Chorus"

    def ready(self) -> None:
        from config import checks  # noqa: F401  (registers the project's deployment checks)
