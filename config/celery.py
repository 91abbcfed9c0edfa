"""The Celery app. Configuration lives in settings (CELERY_* names); beat reads its schedule from the DB."""

import os
from typing import Any

from celery import Celery, signals
from kombu.transport import redis as kombu_redis

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# A lost broker connection must not end the worker. With kombu 5.7, closing the consumer's channel after Redis
# went away restores its unacknowledged messages through a connection already torn down; the AttributeError
# ("'NoneType' object has no attribute 'hostname'") escapes and the worker exits instead of reconnecting
# (found by `make resilience`, restarting Redis). Unacknowledged messages come back anyway once the visibility
# timeout passes, and every poll's work from its PostgreSQL lease before that.
kombu_redis.QoS.restore_at_shutdown = False

app = Celery("chorus")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def preload_connectors(**_: Any) -> None:
    """The platform client libraries are imported once, in the worker's main process, before the pool forks."""
    from monitoring.connectors import connectors_preload

    connectors_preload()
