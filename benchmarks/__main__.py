"""`python -m benchmarks [ingest] [sweep] [x_budget] [policies_engine] [inbox] [classifier] [overview]
[csv_import]` (`make bench` runs them all): run the scenarios in a scratch database and print a summary.

Missed targets are reported, not failed: the exit status is non-zero only when a benchmark could not run.
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

from benchmarks.harness import (
    BenchmarkError,
    Figure,
    ScratchDatabase,
    heading,
    load_average,
    prepare_environment,
    print_table,
    redis_url_checked,
)

# Module (in this package, with a `run(workdir) -> list[Figure]`) and title of each scenario, in run order.
SCENARIOS = {
    "ingest": "1. Ingest: messages_upsert against raw COPY",
    "sweep": "2+4. Sweep of 1,000 accounts with a Celery worker; its memory",
    "x_budget": "3. X read budget: a steady-state sweep of 400 X accounts",
    "policies_engine": "Policies engine against a naive evaluation",
    "inbox": "Triage inbox: server time at 20,000 and 2,000,000 messages",
    "classifier": "Classifier: precision, recall and confusion on the labelled set",
    "overview": "Organization overview: 1,000 accounts in 300 units, 90 days of statistics",
    "csv_import": "Registry CSV import: 10,000 rows, all or nothing",
}


def main(argv: list[str]) -> int:
    started = time.monotonic()
    chosen = argv or list(SCENARIOS)
    unknown = sorted(set(chosen) - set(SCENARIOS))
    if unknown:
        print(f"unknown scenario(s) {', '.join(unknown)}; choose among {', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url:
        print("DATABASE_URL is not set: run `make bench`.", file=sys.stderr)
        return 2
    try:
        scratch = ScratchDatabase.beside(database_url)
        redis_url_checked()
    except BenchmarkError as error:
        print(f"benchmarks: {error}", file=sys.stderr)
        return 2
    prepare_environment(scratch)
    print(
        f"Chorus benchmarks: {os.cpu_count()} CPU(s), Python {platform.python_version()}, "
        f"scratch database {scratch.name}, load average {load_average()}"
    )
    figures: list[Figure] = []
    failed: list[str] = []
    scratch.create()
    try:
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        with tempfile.TemporaryDirectory(prefix="chorus-bench-") as workdir:
            for name in (name for name in SCENARIOS if name in chosen):
                title = SCENARIOS[name]
                heading(title)
                try:
                    # Imported only now (Django is set up) and one at a time: a broken one stops only itself.
                    module = importlib.import_module(f"benchmarks.{name}")
                    figures += module.run(Path(workdir))
                except Exception:
                    traceback.print_exc()
                    failed.append(title)
    finally:
        _close_connections()
        scratch.drop()
    heading(f"Summary ({time.monotonic() - started:.0f} s; load average now {load_average()})")
    print_table(figures)
    missed = [figure for figure in figures if figure.met is False]
    met = [figure for figure in figures if figure.met]
    print(f"\nTargets: {len(met)} met, {len(missed)} missed.")
    if failed:
        print(f"Could not run (see the traceback above): {'; '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _close_connections() -> None:
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
