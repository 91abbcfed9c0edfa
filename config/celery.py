"""The Celery app. Configuration lives in settings (CELERY_* names); beat reads its schedule from the DB."""

import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("chorus")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def preload_connectors(**_: Any) -> None:
    """The platform client libraries are imported once, in the worker's main process, before the pool forks."""
    from monitoring.connectors import connectors_preload

    connectors_preload()
