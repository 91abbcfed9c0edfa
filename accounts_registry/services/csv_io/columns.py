"""The registry file's columns."""

from __future__ import annotations

# The formula-safe cells are the one CSV helper's (common/csv_export.py), re-exported for the importer.
from common.csv_export import FORMULA_TRIGGERS, neutralise_cell, unneutralise_cell

__all__ = [
    "FORMULA_TRIGGERS",
    "OPTIONAL_COLUMNS",
    "REGISTRY_COLUMNS",
    "REQUIRED_COLUMNS",
    "neutralise_cell",
    "unneutralise_cell",
]

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
