"""The image is built from a context that holds only what runs: no secrets, no local state, no tests.

Docker has no Python API for its ignore rules in our dependencies, so this replicates the part of them the
file uses (patterns relative to the context root, `*`/`?` within a path segment, `**` across segments, a
trailing `/` for directories, `!` re-includes, the last matching line wins) and checks concrete paths.
This test failed before `.dockerignore` existed: every path below was sent to the daemon by `COPY . .`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SECRET_BEARING = [
    ".env",
    ".env.production",
    "var/demo-fernet.key",
    "var/chorus.sqlite3",
    "var/chorus.sqlite3-wal",
    ".git/config",
    ".git/objects/ab/cdef",
    ".venv/bin/python",
    ".tools/bin/uv",
    "tests/conftest.py",
    "benchmarks/harness.py",
    "node_modules/htmx.org/dist/htmx.js",
    "monitoring/__pycache__/models.cpython-313.pyc",
    "__pycache__/x.pyc",
    "secrets/tls.key",
]
NEEDED_AT_RUN_TIME = [
    "manage.py",
    "pyproject.toml",
    "uv.lock",
    "config/settings.py",
    "monitoring/models.py",
    "accounts_registry/migrations/0001_initial.py",
    "templates/base.html",
    "static/css/chorus.css",
    "policies/starter_policy.json",
    "doubles/x/server.py",  # the platform doubles: the demo app (installed) runs on them
    ".env.example",
]


def _rules() -> list[tuple[bool, re.Pattern[str]]]:
    rules = []
    for raw in (ROOT / ".dockerignore").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        is_exclusion = not line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        # `**` spans segments; fnmatch's `*` would too, so keep single `*` inside one segment.
        regex = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*\*", ".*")
        regex = regex.replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        rules.append((is_exclusion, re.compile(f"{regex}(?:/.*)?")))
    return rules


def _excluded(path: str, rules: list[tuple[bool, re.Pattern[str]]]) -> bool:
    excluded = False
    for is_exclusion, pattern in rules:
        if pattern.fullmatch(path):
            excluded = is_exclusion
    return excluded


@pytest.mark.parametrize("path", SECRET_BEARING)
def test_secret_bearing_and_dev_only_paths_stay_out_of_the_build_context(path: str) -> None:
    assert _excluded(path, _rules()), f"{path} would be copied into the image"


@pytest.mark.parametrize("path", NEEDED_AT_RUN_TIME)
def test_what_runs_is_still_in_the_build_context(path: str) -> None:
    assert not _excluded(path, _rules()), f"{path} is needed in the image but excluded"


def test_the_dockerfile_copies_the_context_and_bakes_in_no_env_file() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    copies = [line for line in dockerfile.splitlines() if line.strip().upper().startswith(("COPY", "ADD"))]
    assert copies, "the Dockerfile copies nothing?"
    assert not any(".env" in line or "var/" in line for line in copies)
