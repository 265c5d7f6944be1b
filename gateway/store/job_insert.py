"""New job rows, many at a time, with their ids back in the order given.

Intake inserts every job through here, so its cost is per job on the busiest path. On
PostgreSQL one INSERT ... RETURNING carries a whole batch in one round trip. On SQLite the
same statement costs more in SQLAlchemy's multi-row assembly than the database's own work, so
each row goes straight to the driver's cursor, through the columns' own bind processors (the
UTC timestamps, money, booleans), and its id is the cursor's lastrowid.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Dialect, Table, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .models import JobRow

JOBS_TABLE = cast(Table, JobRow.__table__)  # Core insert: the ORM's bulk path costs more

Processor = Callable[[Any], Any] | None


def insert_jobs(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows (all with the same keys, column keys of the jobs table); their ids."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        sql, processors = _sqlite_insert(connection.dialect, tuple(rows[0]))
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        dbapi_error = connection.dialect.loaded_dbapi.Error
        ids = []
        try:
            for row in rows:
                params = _bound(row, processors)
                cursor.execute(sql, params)
                ids.append(int(cursor.lastrowid))
        except dbapi_error as exc:
            # Raised as SQLAlchemy would have: the store tells a full disk or a locked file
            # (OperationalError) from a bad row by these classes.
            raise DBAPIError.instance(sql, params, exc, dbapi_error) from exc
        finally:
            cursor.close()
        return ids
    # The ids are matched back by each job's unique uuid: asking the database to return them
    # in parameter order would make SQLAlchemy insert row by row.
    statement = insert(JOBS_TABLE).returning(JobRow.uuid, JobRow.id)
    by_uuid = {uuid: job_id for uuid, job_id in session.execute(statement, rows)}
    return [by_uuid[row["uuid"]] for row in rows]


def _bound(row: dict[str, Any], processors: Sequence[Processor]) -> list[Any]:
    return [
        value if process is None or value is None else process(value)
        for value, process in zip(row.values(), processors, strict=True)
    ]


@lru_cache(maxsize=8)  # one entry per writer engine
def _sqlite_insert(dialect: Dialect, keys: tuple[str, ...]) -> tuple[str, tuple[Processor, ...]]:
    """The INSERT for rows with these keys, in qmark style, and each column's processor."""
    columns = [JOBS_TABLE.columns[key] for key in keys]
    quote = dialect.identifier_preparer.quote
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(JOBS_TABLE.name),
        ", ".join(quote(column.name) for column in columns),
        ", ".join("?" for _ in columns),
    )
    processors = tuple(
        column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns
    )
    return sql, processors
