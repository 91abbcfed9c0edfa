"""The Celery app. Configuration lives in settings (CELERY_* names); beat reads its schedule from the DB."""

import functools
import logging
import os
from collections.abc import Callable
from typing import Any

from celery import Celery, signals
from kombu.transport import redis as kombu_redis

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
logger = logging.getLogger(__name__)


# A lost broker connection must not end the worker. With kombu 5.7, after Redis went away, the consumer's old
# channel is torn down (its connection, or the connection's client, is None), yet closing it restores its
# unacknowledged messages through it, and a late-acknowledged task that finishes after the reconnect is acked
# (or rejected) through it too: the AttributeError ("'NoneType' object has no attribute 'hostname'" or
# "'client'") escapes and the worker exits instead of carrying on (found by `make resilience`, restarting
# Redis). On such a channel those calls are skipped: the message returns once its visibility timeout passes,
# the poll's work from its PostgreSQL lease before that, and a second delivery skips (`poll_begin`).
def _channel_is_torn_down(qos: Any) -> bool:
    connection = getattr(qos.channel, "connection", None)
    return connection is None or connection.client is None


def _unless_torn_down(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def guarded(qos: Any, *args: Any, **kwargs: Any) -> Any:
        if _channel_is_torn_down(qos):
            logger.warning(
                "broker connection gone: %s skipped; the message returns after the visibility timeout", method.__name__
            )
            return None
        return method(qos, *args, **kwargs)

    return guarded


for _name in ("ack", "reject", "restore_unacked"):
    setattr(kombu_redis.QoS, _name, _unless_torn_down(getattr(kombu_redis.QoS, _name)))

app = Celery("chorus")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def preload_connectors(**_: Any) -> None:
    """The platform client libraries are imported once, in the worker's main process, before the pool forks."""
    from monitoring.connectors import connectors_preload

    connectors_preload()
