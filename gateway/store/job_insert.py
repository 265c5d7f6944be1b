"""New job rows, many at a time, with their ids back in the order given.

Intake inserts every job through here, so its cost is per job on the busiest path. On
PostgreSQL one INSERT ... RETURNING carries a whole batch in one round trip. On SQLite rows go
straight to the driver, through the columns' own bind processors (the UTC timestamps, money,
booleans): SQLAlchemy's statement assembly costs more than the database's own work.

A batch of nothing but new jobs (intake's) goes to SQLite as one multi-row INSERT run in
autocommit mode: BEGIN, the rows and the COMMIT (with its fsync) are one step of the driver.
The writer thread releases the GIL around every step and must then win it back from the event
loop, which keeps it busy while jobs come in: one step a batch instead of one per row plus
BEGIN and COMMIT is what lets the batch's durable work overlap intake.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Dialect, Engine, Table, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .models import JobRow

JOBS_TABLE = cast(Table, JobRow.__table__)  # Core insert: the ORM's bulk path costs more

Processor = Callable[[Any], Any] | None

# Rows in one statement, well under SQLite's 32,766 bound parameters at the table's width.
MAX_ROWS_AT_ONCE = 200


def insert_jobs(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows (all with the same keys, column keys of the jobs table); their ids."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        sql, processors = _sqlite_insert(connection.dialect, tuple(rows[0]), 1)
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


def commit_new_jobs(engine: Engine, rows: list[dict[str, Any]]) -> list[int]:
    """SQLite: insert the rows (as for insert_jobs, at most MAX_ROWS_AT_ONCE) and commit them, in
    one statement, all or none; their ids."""
    assert 0 < len(rows) <= MAX_ROWS_AT_ONCE
    sql, processors = _sqlite_insert(engine.dialect, tuple(rows[0]), len(rows))
    params = [value for row in rows for value in _bound(row, processors)]
    connection = engine.raw_connection()
    driver = connection.driver_connection
    dbapi_error = engine.dialect.loaded_dbapi.Error
    try:
        assert driver is not None and not driver.in_transaction
        isolation_level = driver.isolation_level
        driver.isolation_level = None  # autocommit: the statement is its own transaction
        try:
            last_id = driver.execute(sql, params).lastrowid
        finally:
            driver.isolation_level = isolation_level
    except dbapi_error as exc:
        raise DBAPIError.instance(sql, params, exc, dbapi_error) from exc
    finally:
        connection.close()
    # One statement's rows take consecutive ids in their order: each new row of an
    # AUTOINCREMENT table gets the largest id so far plus one, and the statement holds the
    # database's write lock from its first row to its commit.
    return list(range(int(last_id) - len(rows) + 1, int(last_id) + 1))


def _bound(row: dict[str, Any], processors: Sequence[Processor]) -> list[Any]:
    return [
        value if process is None or value is None else process(value)
        for value, process in zip(row.values(), processors, strict=True)
    ]


@lru_cache(maxsize=64)  # an entry per batch size seen
def _sqlite_insert(
    dialect: Dialect, keys: tuple[str, ...], rows: int
) -> tuple[str, tuple[Processor, ...]]:
    """The INSERT of this many rows with these keys, in qmark style, and each column's
    processor."""
    columns = [JOBS_TABLE.columns[key] for key in keys]
    quote = dialect.identifier_preparer.quote
    placeholders = "({})".format(", ".join("?" for _ in columns))
    sql = "INSERT INTO {} ({}) VALUES {}".format(
        quote(JOBS_TABLE.name),
        ", ".join(quote(column.name) for column in columns),
        ", ".join(placeholders for _ in range(rows)),
    )
    processors = tuple(
        column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns
    )
    return sql, processors
