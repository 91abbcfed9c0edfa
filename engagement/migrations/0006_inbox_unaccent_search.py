"""The inbox's accent-insensitive search (common.folding.Fold) uses PostgreSQL's `unaccent` extension.

Creating an extension needs the CREATE privilege on the database (PostgreSQL ≥ 13: a trusted extension),
which the application's owner role has; see docs/operations.md. SQLite (the demo) needs nothing."""

from django.db import migrations


def create_unaccent(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")


class Migration(migrations.Migration):
    dependencies = [("engagement", "0005_crime_reports_and_context_rules")]

    operations = [migrations.RunPython(create_unaccent, migrations.RunPython.noop)]
