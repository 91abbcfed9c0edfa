"""Unit names are stored normalized (blanks trimmed, whitespace runs collapsed), so that the unique index
added next (siblings differ on the lower-cased normalized name) sees the same key the code compares.

Existing siblings whose names only differ by case or whitespace cannot be merged automatically (their
accounts, members and grants would change units): the migration stops and names them; rename one of each
pair (admin or `manage.py shell`), then migrate again. Reversing restores nothing (the old spacing is not
kept) and is a no-op.
"""

from collections import defaultdict

from django.db import migrations

STEP = 4  # treebeard's materialized-path step length (OrgUnit.steplen)


def _normalized(name):
    return " ".join(name.split())


def sibling_duplicates(units):
    """[(parent path, [names...])] of siblings sharing a normalized lower-cased name."""
    groups = defaultdict(list)
    for path, name in units:
        groups[(path[:-STEP], _normalized(name).lower())].append(name)
    return [(parent, sorted(names)) for (parent, _key), names in sorted(groups.items()) if len(names) > 1]


def normalize_names(apps, schema_editor):
    OrgUnit = apps.get_model("accounts_registry", "OrgUnit")
    units = list(OrgUnit.objects.order_by("path").values_list("pk", "path", "name"))
    duplicates = sibling_duplicates([(path, name) for _pk, path, name in units])
    if duplicates:
        names_by_path = {path: name for _pk, path, name in units}
        described = "; ".join(
            f"under “{names_by_path.get(parent, '(top level)')}”: " + ", ".join(f"“{name}”" for name in names)
            for parent, names in duplicates
        )
        raise RuntimeError(
            "Sibling units whose names differ only by case or spacing must be renamed before this migration "
            f"(rename one of each, then migrate again): {described}"
        )
    for pk, _path, name in units:
        if _normalized(name) != name:
            OrgUnit.objects.filter(pk=pk).update(name=_normalized(name))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts_registry", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(normalize_names, migrations.RunPython.noop),
    ]
