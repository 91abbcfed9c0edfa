"""The import contracts in pyproject.toml (run by `make lint`) fail on an import that breaks them.

Each case builds a throwaway tree with the project's root packages (empty) plus one offending import,
and runs lint-imports with the project's own configuration over it.
"""

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The root packages the contracts name, read from the configuration itself (a new app cannot be forgotten).
PACKAGES = tuple(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["root_packages"])
LAYERS = "engagement and policies independent"
APPS = "No app imports config, the demo, the doubles, the tests or the benchmarks"
DOUBLES = "they import no app and no test"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tmp_path: Path, offending: dict[str, str]) -> subprocess.CompletedProcess[str]:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    for module, line in offending.items():
        (tmp_path / module).write_text(line + "\n")
    return _run_lint_imports(tmp_path)


def _run_lint_imports(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_empty_layout_keeps_every_contract(tmp_path):
    result = _lint(tmp_path, {})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("engagement/inbox.py", "import policies", LAYERS),
        ("policies/review.py", "from engagement import models", LAYERS),
        ("policies/notify.py", "from alerts import models", LAYERS),
        ("engagement/inbox.py", "import alerts", LAYERS),
        ("engagement/inbox.py", "import overview", LAYERS),
        ("overview/views.py", "import alerts", LAYERS),
        ("monitoring/ingest.py", "import engagement", LAYERS),
        ("common/htmx.py", "import accounts_registry", LAYERS),
        ("accounts_registry/apps.py", "import config", APPS),
        ("monitoring/demo.py", "import doubles", APPS),
        ("benchmarks/world.py", "import tests", "tests/ is imported by nothing outside tests/"),
        ("doubles/x.py", "import monitoring", DOUBLES),
    ],
)
def test_a_forbidden_import_breaks_lint(tmp_path, module, line, contract):
    result = _lint(tmp_path, {module: line})
    assert result.returncode == 1, result.stdout + result.stderr
    words = " ".join(result.stdout.split())  # lint-imports wraps long contract names
    assert f"{contract} BROKEN" in words, result.stdout
    assert "1 broken" in words


def test_make_lint_runs_the_contracts_and_fails_on_a_wrong_way_import_in_the_real_tree(tmp_path):
    """The recipe of `make lint` runs lint-imports; over a copy of this repository's own packages with one
    engagement module importing policies, that command exits 1 naming the broken contract."""
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nlint:", 1)[1].split("\n\n", 1)[0]
    assert "$(VENV)/bin/lint-imports --no-logo" in recipe
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    clean = _run_lint_imports(tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    inbox = tmp_path / "engagement" / "selectors" / "inbox.py"
    inbox.write_text(inbox.read_text() + "\nfrom policies.models import PolicyFlag  # noqa\n")
    broken = _run_lint_imports(tmp_path)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    words = " ".join(broken.stdout.split())
    assert f"{LAYERS} BROKEN" in words
    assert "engagement.selectors.inbox -> policies.models" in words
