"""The registry file's columns, and cells a spreadsheet will not run as formulas."""

from __future__ import annotations

REGISTRY_COLUMNS: tuple[str, ...] = (
    "unit_path",
    "platform",
    "handle",
    "external_id",
    "kind",
    "holder_badge",
    "holder_name",
    "holder_email",
    "training_course",
    "training_completed_on",
    "training_expires_on",
    "status",
)
OPTIONAL_COLUMNS = frozenset({"external_id", "status"})
REQUIRED_COLUMNS: tuple[str, ...] = tuple(column for column in REGISTRY_COLUMNS if column not in OPTIONAL_COLUMNS)

# Spreadsheets run a cell starting with one of these as a formula (CSV/formula injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: str) -> str:
    """Prefix a quote so a spreadsheet shows the cell as text instead of running it as a formula.

    Values that already start with quotes before a trigger get one more, so `unneutralise_cell`
    is an exact inverse and an export re-imports unchanged.
    """
    return "'" + value if value.lstrip("'").startswith(FORMULA_TRIGGERS) else value


def unneutralise_cell(value: str) -> str:
    if value.startswith("'") and value.lstrip("'").startswith(FORMULA_TRIGGERS):
        return value[1:]
    return value
