"""Backfill: record, for messages stored before addressees existed, the other org accounts they address.

The payloads are gone, so this reads what the rows keep: the @handles in the text (matched
case-insensitively against the registered accounts of the same platform; on Mastodon `@user` also
matches `user@domain` when only one registered account has that user name) and the org post a message
replies to. Each added addressee also counts as inbound in that account's daily statistics, as the
ingest counts it. Runs in batches of BATCH messages; idempotent (existing rows are kept, not counted
twice). Reversing deletes every addressee row (and leaves the daily statistics as they are: it cannot
tell backfilled counts from ingested ones).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from typing import Any

from django.db import migrations
from django.db.models import F
from django.utils import timezone

BATCH = 2000
# X: 1-15 word characters; Bluesky: a domain; Mastodon: user or user@domain.
HANDLES = re.compile(r"(?<![\w@.])@([A-Za-z0-9_][A-Za-z0-9_.-]*(?:@[A-Za-z0-9.-]+)?)")


def _account_keys(social_account: Any) -> dict[tuple[str, str], int]:
    """(platform, lower-cased handle) -> account, plus Mastodon user names that are unambiguous."""
    keys: dict[tuple[str, str], int] = {}
    local_names: defaultdict[str, list[int]] = defaultdict(list)
    for pk, platform, handle in social_account.objects.exclude(status="retired").values_list("pk", "platform", "handle"):
        handle = handle.lstrip("@").lower()
        keys[(platform, handle)] = pk
        if platform == "mastodon" and "@" in handle:
            local_names[handle.split("@", 1)[0]].append(pk)
    for name, pks in local_names.items():
        if len(pks) == 1:
            keys.setdefault(("mastodon", name), pks[0])
    return keys


def _named(platform: str, text: str, keys: dict[tuple[str, str], int]) -> set[int]:
    found = set()
    for handle in HANDLES.findall(text):
        key = (platform, handle.rstrip(".").lower())
        if key in keys:
            found.add(keys[key])
    return found


def add_addressees(apps: Any, schema_editor: Any) -> None:
    message_model = apps.get_model("monitoring", "Message")
    addressee_model = apps.get_model("monitoring", "MessageAddressee")
    daily_model = apps.get_model("monitoring", "DailyActivity")
    keys = _account_keys(apps.get_model("accounts_registry", "SocialAccount"))
    inbound = message_model.objects.filter(direction="inbound").order_by("pk")
    last_pk = 0
    while True:
        batch = list(
            inbound.filter(pk__gt=last_pk).values_list(
                "pk", "platform", "account_id", "text", "in_reply_to_id", "created_at"
            )[:BATCH]
        )
        if not batch:
            return
        last_pk = batch[-1][0]
        parents = {
            (platform, external_id): account_id
            for platform, external_id, account_id in message_model.objects.filter(
                direction="outbound", external_id__in={row[4] for row in batch if row[4]}
            ).values_list("platform", "external_id", "account_id")
        }
        wanted: dict[tuple[int, int], Any] = {}
        for pk, platform, home, text, in_reply_to, created_at in batch:
            accounts = _named(platform, text, keys)
            if in_reply_to and (platform, in_reply_to) in parents:
                accounts.add(parents[(platform, in_reply_to)])
            for account in accounts - {home}:
                wanted[(pk, account)] = created_at
        existing = set(
            addressee_model.objects.filter(message_id__in={pk for pk, _ in wanted}).values_list(
                "message_id", "account_id"
            )
        )
        added = [pair for pair in wanted if pair not in existing]
        addressee_model.objects.bulk_create(
            [addressee_model(message_id=pk, account_id=account) for pk, account in added], ignore_conflicts=True
        )
        counts = Counter((account, timezone.localdate(wanted[(pk, account)])) for pk, account in added)
        for (account, day), number in sorted(counts.items()):
            daily_model.objects.get_or_create(account_id=account, day=day)
            daily_model.objects.filter(account_id=account, day=day).update(inbound=F("inbound") + number)


def remove_addressees(apps: Any, schema_editor: Any) -> None:
    apps.get_model("monitoring", "MessageAddressee").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts_registry", "0001_initial"),
        ("monitoring", "0005_message_addressees"),
    ]

    operations = [migrations.RunPython(add_addressees, remove_addressees)]
