"""Message search (monitoring.search): the folding function `chorus_fold` and a trigram index on it.

PostgreSQL only. `chorus_fold(text)` is lower(unaccent(text)) declared IMMUTABLE, so that an index can be
built on it (unaccent itself is only STABLE: it reads its dictionary by name, so the wrapper names the
dictionary and the function schema-qualified; run by a superuser, the migration declares unaccent's C
function immutable under another name instead, which lets PostgreSQL inline chorus_fold: three times
cheaper per row). A GIN index with pg_trgm's operator class on the folded
text, author name and author handle answers `chorus_fold(column) LIKE '%word%'` — accent- and
case-insensitive, any language, any part of a word — from the index.

Both extensions are trusted (PostgreSQL ≥ 13): the database owner creates them; see docs/operations.md.
SQLite (the demo) needs nothing: `chorus_fold` is registered on each connection (common.folding) and the
search scans, which is fine at the demo's size.

The index is built in the migration's transaction (it locks writes to the message table while it builds:
about a minute per million messages on a small machine). On a large production table, build it first with
CREATE INDEX CONCURRENTLY under the same name and definition; the migration then leaves it as it is.
"""

from django.db import migrations

INDEX = "message_search_trgm"
COLUMNS = ("text", "author_name", "author_handle")


def _extension_schema(schema_editor, name):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = %s",
            [name],
        )
        return cursor.fetchone()[0]


def create_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    unaccent = schema_editor.quote_name(_extension_schema(schema_editor, "unaccent"))
    trgm = schema_editor.quote_name(_extension_schema(schema_editor, "pg_trgm"))
    dictionary = f"{unaccent}.unaccent".replace("'", "''")
    unaccent_function = f"{unaccent}.unaccent"
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT current_schema(), rolsuper FROM pg_roles WHERE rolname = current_user")
        schema, is_superuser = cursor.fetchone()
    schema = schema_editor.quote_name(schema)
    if is_superuser:
        # unaccent's own C function declared immutable: chorus_fold is then inlined, and costs a third of
        # the plain SQL wrapper per row (declaring a C function needs a superuser).
        schema_editor.execute(
            f"CREATE OR REPLACE FUNCTION {schema}.chorus_unaccent(regdictionary, text) RETURNS text"
            " LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS '$libdir/unaccent', 'unaccent_dict'"
        )
        unaccent_function = f"{schema}.chorus_unaccent"
    schema_editor.execute(
        f"CREATE OR REPLACE FUNCTION {schema}.chorus_fold(text) RETURNS text"
        " LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE"
        f" AS $$ SELECT lower({unaccent_function}('{dictionary}'::regdictionary, $1)) $$"
    )
    expressions = ", ".join(f"chorus_fold({column}) {trgm}.gin_trgm_ops" for column in COLUMNS)
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON monitoring_message USING gin ({expressions})")


def drop_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")
    schema_editor.execute("DROP FUNCTION IF EXISTS chorus_fold(text)")
    schema_editor.execute("DROP FUNCTION IF EXISTS chorus_unaccent(regdictionary, text)")


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0007_daily_day_index")]

    operations = [migrations.RunPython(create_search, drop_search)]
