"""The worker imports the platform client libraries before its pool forks (found by the resilience suite:
imported lazily, atproto's import alone outlasted a poll's soft time limit on a busy machine, so the first
Bluesky poll of every pool child failed, and the next one imported again)."""

import os
import subprocess
import sys

from monitoring.connectors import CONNECTOR_MODULES

SCRIPT = """
import sys
import django
django.setup()
from celery import signals
import config.celery
modules = {modules!r}
print(sorted(m for m in modules if m in sys.modules))
signals.worker_init.send(sender=None)
print(sorted(m for m in modules if m in sys.modules))
"""


def test_the_worker_main_process_imports_every_connector_before_forking():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(modules=CONNECTOR_MODULES)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"},
        timeout=120,
    )
    before, after = result.stdout.strip().splitlines()[-2:]
    assert before == "[]"  # nothing imports them by accident: the signal does
    assert after == repr(sorted(CONNECTOR_MODULES))
