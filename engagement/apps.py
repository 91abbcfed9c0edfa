from django.apps import AppConfig
from django.db.backends.signals import connection_created


class EngagementConfig(AppConfig):
    name = "engagement"
    verbose_name = "Engagement"

    def ready(self) -> None:
        from common.folding import register_sqlite_fold

        connection_created.connect(register_sqlite_fold, dispatch_uid="chorus_fold")
