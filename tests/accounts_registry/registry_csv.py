"""Registry CSV files for the import tests: the full header, and rows that give only the columns they need."""

from __future__ import annotations

import csv
import io

from accounts_registry.services.csv_io import REGISTRY_COLUMNS

COURSE = "Social Media Spokesperson"
NORTH_11 = "Metro Police Service/North Division/11 Station"


def csv_text(*rows: dict[str, str]) -> str:
    """A CSV file with the full header; each row gives only the columns it needs."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REGISTRY_COLUMNS)
    for row in rows:
        writer.writerow([row.get(column, "") for column in REGISTRY_COLUMNS])
    return out.getvalue()


def personal(handle: str, badge: str, name: str, *, unit: str = NORTH_11, platform: str = "x", **extra: str):
    row = {
        "unit_path": unit,
        "platform": platform,
        "handle": handle,
        "kind": "personal",
        "holder_badge": badge,
        "holder_name": name,
        "training_course": COURSE,
        "training_completed_on": "2026-01-15",
        "training_expires_on": "2099-01-15",
    }
    return row | extra


def unit_account(handle: str, *, unit: str = NORTH_11, platform: str = "x", **extra: str):
    return {"unit_path": unit, "platform": platform, "handle": handle, "kind": "unit"} | extra
