"""Inserting many model instances at once: COPY on PostgreSQL, bulk_create elsewhere (the SQLite demo).

Django's bulk_create builds one INSERT whose every value goes through the compiler; for tens of thousands
of rows that is most of an import's time. `copy_insert` takes the ids from the table's sequence in one
statement, then streams the rows with COPY, each value prepared by its field exactly as bulk_create does
(`pre_save`, `get_db_prep_save`: auto_now, defaults, JSON, foreign keys to instances saved earlier). No
signal is sent (neither does bulk_create). Database errors come out as Django's (IntegrityError...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import DEFAULT_DB_ALIAS, connections
from psycopg import sql

if TYPE_CHECKING:
    from collections.abc import Sequence

    from django.db.models import Model


def copy_insert(model: type[Model], objs: Sequence[Model]) -> None:
    """Insert `objs` (new instances of `model`) and set their primary keys. Call inside a transaction."""
    if not objs:
        return
    # The wrapper itself, not the `connection` proxy: every attribute of the proxy is a context-local lookup,
    # and each value below reads a few.
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs)
        return
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    fields = list(meta.concrete_fields)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, pk.column, len(objs)],
        )
        for obj, (new_id,) in zip(objs, cursor.fetchall(), strict=True):
            obj.pk = new_id
        columns = [sql.Identifier(str(field.column)) for field in fields]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(meta.db_table), sql.SQL(", ").join(columns)
        )
        with connection.wrap_database_errors, cursor.cursor.copy(statement) as copy:
            for obj in objs:
                # As bulk_create does: a foreign key to an instance saved since takes its id (not in the stubs).
                obj._prepare_related_fields_for_save(operation_name="copy_insert")  # type: ignore[attr-defined]
                copy.write_row([field.get_db_prep_save(field.pre_save(obj, add=True), connection) for field in fields])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
