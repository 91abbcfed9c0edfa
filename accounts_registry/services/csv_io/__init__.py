"""Bulk CSV import and export of the registry: one row per social account.

The import validates the whole file before writing and then writes it in bulk, each record built and
checked as the ordinary services (units, members, trainings, onboarding) build and check one, all inside
one transaction: any bad row, or a dry run, rolls everything back, so either the whole file lands or
nothing does. Its SQL statements do not grow with the number of rows. Existing records are never edited,
with one exception: a training completion already on record gains the platforms the file says it
authorizes. Re-importing a file therefore writes nothing, and neither does importing an export.

By job: `columns` (the file's columns and formula-safe cells), `parse` (reading and checking rows on
their own), `plan` (resolving units, holders and authorization against the database), `apply` (the
import's transaction and writes), `export`.
"""

from accounts_registry.services.csv_io.apply import registry_import
from accounts_registry.services.csv_io.columns import (
    FORMULA_TRIGGERS,
    OPTIONAL_COLUMNS,
    REGISTRY_COLUMNS,
    REQUIRED_COLUMNS,
    neutralise_cell,
    unneutralise_cell,
)
from accounts_registry.services.csv_io.export import Writer, registry_export
from accounts_registry.services.csv_io.parse import SAMPLE_ROWS, ImportReport

__all__ = [
    "FORMULA_TRIGGERS",
    "OPTIONAL_COLUMNS",
    "REGISTRY_COLUMNS",
    "REQUIRED_COLUMNS",
    "SAMPLE_ROWS",
    "ImportReport",
    "Writer",
    "neutralise_cell",
    "registry_export",
    "registry_import",
    "unneutralise_cell",
]
