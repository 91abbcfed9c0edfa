"""The registry export: one CSV row per account, in the columns the import reads."""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Protocol

from accounts_registry.models import Training
from accounts_registry.selectors import unit_paths
from accounts_registry.services.csv_io.columns import REGISTRY_COLUMNS, neutralise_cell

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from accounts_registry.models import SocialAccount


class Writer(Protocol):
    def write(self, text: str, /) -> object: ...


def registry_export(*, accounts_queryset: QuerySet[SocialAccount], out: Writer) -> int:
    """Write the accounts as CSV (REGISTRY_COLUMNS, one row per account); returns the row count.

    Three queries whatever the size: accounts with units and holders, unit ancestors, holders'
    trainings. The training given is the holder's most recent one that lists the account's platform
    (blank if none), so importing the export changes nothing. Cells that a spreadsheet would run
    as a formula are neutralised with a leading quote (the importer removes it again).
    """
    accounts = list(accounts_queryset.select_related("unit", "holder").order_by("unit__path", "platform", "handle"))
    paths = unit_paths(account.unit for account in accounts)
    holder_ids = {account.holder_id for account in accounts if account.holder_id is not None}
    trainings: dict[int, list[Training]] = {}
    for record in Training.objects.filter(member_id__in=holder_ids).order_by("-completed_on", "-pk"):
        trainings.setdefault(record.member_id, []).append(record)
    writer = csv.writer(out)
    writer.writerow(REGISTRY_COLUMNS)
    for account in accounts:
        holder = account.holder
        training: Training | None = None
        if holder is not None:
            training = next((t for t in trainings.get(holder.pk, []) if account.platform in t.platforms), None)
        row = {
            "unit_path": paths[account.unit_id],
            "platform": account.platform,
            "handle": account.handle,
            "external_id": account.external_id or "",
            "kind": account.kind,
            "holder_badge": holder.badge_number if holder else "",
            "holder_name": holder.full_name if holder else "",
            "holder_email": holder.email if holder else "",
            "training_course": training.course if training else "",
            "training_completed_on": training.completed_on.isoformat() if training else "",
            "training_expires_on": training.expires_on.isoformat() if training and training.expires_on else "",
            "status": account.status,
        }
        writer.writerow([neutralise_cell(row[column]) for column in REGISTRY_COLUMNS])
    return len(accounts)
