"""Message search (monitoring.search) reads one stored, folded column: `search_text`, the text, author name
and "@" + handle one per line, through chorus_fold (migration 0008) when the row is written. One trigram
index on it replaces 0008's index on three folded expressions.

Why: a search of a common word walks the inbox's items until enough match, and each walked message was
folded three times (unaccent is most of a search's cost); now it is a LIKE on stored text. And the index
holds one column's trigrams instead of three: less to write on every insert.

PostgreSQL rewrites the message table to add a stored generated column (it locks writes while it does:
about a minute per million messages on a small machine), then builds the index (the same again). On a large
production table, build the index with CREATE INDEX CONCURRENTLY under the same name and definition after
the column exists; this migration then leaves it as it is. SQLite (the demo) has the column and scans.
"""

import django.db.models.functions.text
from django.db import migrations, models

import common.folding

OLD_INDEX = "message_search_trgm"
OLD_COLUMNS = ("text", "author_name", "author_handle")
INDEX = "message_search_text_trgm"
STATISTICS = 1000


def _trgm_schema(schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
        )
        return schema_editor.quote_name(cursor.fetchone()[0])


def drop_old_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {OLD_INDEX}")


def create_old_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        trgm = _trgm_schema(schema_editor)
        expressions = ", ".join(f"chorus_fold({column}) {trgm}.gin_trgm_ops" for column in OLD_COLUMNS)
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {OLD_INDEX} ON monitoring_message USING gin ({expressions})")


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        trgm = _trgm_schema(schema_editor)
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON monitoring_message USING gin (search_text {trgm}.gin_trgm_ops)"
        )
        # The planner guesses how many messages a word matches from a sample of the column (a histogram of
        # 100 values by default): a word in 4 % of messages came out at 1 %, and the inbox's counts read
        # the index for a word they should walk. 1,000 values make the guess close (ANALYZE samples more).
        schema_editor.execute(f"ALTER TABLE monitoring_message ALTER COLUMN search_text SET STATISTICS {STATISTICS}")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0008_message_search_index")]

    operations = [
        migrations.RunPython(drop_old_index, create_old_index),
        migrations.AddField(
            model_name="message",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=common.folding.Fold(
                    django.db.models.functions.text.Concat(
                        "text",
                        models.Value("\n"),
                        "author_name",
                        models.Value("\n@"),
                        "author_handle",
                        output_field=models.TextField(),
                    )
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.RunPython(create_index, drop_index),
    ]
