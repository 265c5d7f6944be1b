"""SmartTracker's Import CSV and Export CSV for a queue's users, projects and departments, in the
columns of its grids. Pure: bytes in, records or (line, message) problems out; rows out to a text
stream. The store and the command line are in accounting/lists.py and cli/lists_csv.py."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TextIO

from .lists import STATUSES, Entry, ListError, check_name

PASSWORD_MARKER = "*****"  # what SmartTracker's grid shows for a password; never a password
SEPARATORS = (",", ";", "\t")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")  # loosely: a mailbox, an @ and a domain
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# A cell a spreadsheet would run as a formula starts with one of these; an export quotes it
# with a leading apostrophe (as spreadsheets do), which an import takes off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Problem = tuple[int, str]  # (line number in the file, what is wrong there)


@dataclass(frozen=True)
class Column:
    header: str  # as exported, in SmartTracker's words
    field: str  # "name", "password", "status" or an Entry detail
    aliases: tuple[str, ...] = ()
    max_length: int = 0  # 0: no limit of its own (names are checked by check_name)


def _account_columns(kind: str) -> tuple[Column, ...]:
    upper = kind.upper()
    return (
        Column("NAME", "name", (upper, f"{upper} NAME")),
        Column("PASSWORD", "password"),
        Column("STATUS", "status", (f"{upper} STATUS",)),
    )


_IGNORED = Column("", "")  # under an unknown or repeated header, reported once there

COLUMNS: dict[str, tuple[Column, ...]] = {
    "user": (
        Column("USERNAME", "name", ("USER NAME", "USER", "NAME")),
        Column("PASSWORD", "password"),
        Column("FIRST NAME", "first_name", max_length=100),
        Column("LAST NAME", "last_name", max_length=100),
        Column("EMAIL ADDRESS", "email", ("EMAIL", "E-MAIL", "E-MAIL ADDRESS"), max_length=255),
        Column("ADDRESS", "address", max_length=255),
        Column("USER STATUS", "status", ("STATUS",)),
    ),
    "project": _account_columns("project"),
    "department": _account_columns("department"),
}


@dataclass(frozen=True)
class Record:
    """One valid row. None and absent mean "not in the file": keep what is stored."""

    line: int
    name: str
    password: str | None = None  # a new password, in clear: hash it before storing
    keep_password: bool = False  # the row had the export's marker
    status: str | None = None
    details: tuple[tuple[str, str], ...] = ()  # only the detail columns the file has


class InvalidCsv(ValueError):
    """The file cannot be imported; `problems` says where and why, line by line."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda problem: problem[0])  # stable: a row's order
        first = f", the first: {self.problems[0][1]}" if self.problems else ""
        super().__init__(f"{len(self.problems)} problems{first}")


# --- import -------------------------------------------------------------------------------


def parse(
    data: bytes,
    kind: str,
    stored: Mapping[str, Entry] | None = None,
    *,
    mapping: Mapping[str, int] | None = None,
    legacy: bool = False,
) -> list[Record]:
    """The file's rows, all valid, or InvalidCsv naming every bad one. `stored` (the queue's
    entries of this kind, by name) lets the password marker be checked too. `mapping` (a
    field's column number, from 0) replaces reading the columns from the header's names: the
    columns it leaves out are not read. `legacy` reads a file that is not UTF-8 as
    Windows-1252 (Excel's "CSV" in western locales) instead of refusing it."""
    text = _decode(data, legacy)
    rows = _rows(text, _separator(text))
    if not rows:
        raise InvalidCsv([(1, f"the file is empty: the first line must be {_headers(kind)}")])
    header_line, header = rows[0]
    if mapping is None:
        columns, problems = _read_header(header_line, header, kind)
    else:
        columns, problems = _mapped_columns(header_line, header, kind, mapping)
    if columns is None:
        raise InvalidCsv(problems)
    records: list[Record] = []
    seen: dict[str, int] = {}
    for line, cells in rows[1:]:
        record, row_problems = _read_row(line, cells, columns, kind, stored)
        if record is not None:
            if record.name in seen:
                row_problems.append((line, f"{record.name!r} repeats line {seen[record.name]}"))
            seen.setdefault(record.name, line)
            records.append(record)
        problems.extend(row_problems)
    if problems:
        raise InvalidCsv(problems)
    return records


def header_of(data: bytes, legacy: bool = False) -> list[str]:
    """The cells of the file's first line: the columns a person maps onto the grid's fields."""
    text = _decode(data, legacy)
    rows = _rows(text, _separator(text))
    return [cell.strip() for cell in rows[0][1]] if rows else []


def proposed_mapping(kind: str, header: list[str]) -> dict[str, int]:
    """Each field's column where a header cell names it (as import reads names): a proposal."""
    known = {_normal(name): c.field for c in COLUMNS[kind] for name in (c.header, *c.aliases)}
    mapping: dict[str, int] = {}
    for index, cell in enumerate(header):
        field = known.get(_normal(cell))
        if field is not None:
            mapping.setdefault(field, index)
    return mapping


def _mapped_columns(
    line: int, header: list[str], kind: str, mapping: Mapping[str, int]
) -> tuple[list[Column | None] | None, list[Problem]]:
    by_field = {column.field: column for column in COLUMNS[kind]}
    unknown = sorted(set(mapping) - set(by_field))
    if unknown:
        return None, [(line, f"a {kind} has no field {unknown[0]!r}")]
    if "name" not in mapping:
        return None, [(line, f"no column is mapped to {COLUMNS[kind][0].header}")]
    width = max(len(header), *(index + 1 for index in mapping.values()))
    columns: list[Column | None] = [_IGNORED] * width
    for field, index in mapping.items():
        if not 0 <= index < len(header):
            return None, [(line, f"the file has no column {index + 1}")]
        if columns[index] is not _IGNORED:
            return None, [(line, f"column {header[index]!r} is mapped to two fields")]
        columns[index] = by_field[field]
    return columns, []


def _decode(data: bytes, legacy: bool = False) -> str:
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Excel's "Unicode text"
            return data.decode("utf-16")
        return data.decode("utf-8-sig")  # with or without the BOM Excel writes
    except UnicodeDecodeError as exc:
        if legacy:
            return data.decode("cp1252", errors="replace")
        line = data[: exc.start].count(b"\n") + 1
        raise InvalidCsv([(line, "not UTF-8 text: save the file as CSV UTF-8")]) from exc


def _separator(text: str) -> str:
    """The separator that splits the header line into the most fields (SmartTracker and
    English Excel write commas, Excel in many European locales semicolons)."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {sep: len(next(csv.reader([first], delimiter=sep), [])) for sep in SEPARATORS}
    return max(SEPARATORS, key=lambda sep: counts[sep])  # ties: the earlier one, a comma


def _rows(text: str, separator: str) -> list[tuple[int, list[str]]]:
    """Non-blank rows, each with the line it starts on (a quoted field may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    rows: list[tuple[int, list[str]]] = []
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return rows
        except csv.Error as exc:
            raise InvalidCsv([(line, f"not readable as CSV: {exc}")]) from exc
        if any(cell.strip() for cell in cells):
            rows.append((line, cells))


def _normal(header: str) -> str:
    words = header.replace("\ufeff", "").replace("_", " ").strip().rstrip("*").split()
    return " ".join(words).upper()


def _headers(kind: str) -> str:
    return ", ".join(column.header for column in COLUMNS[kind])


def _read_header(
    line: int, header: list[str], kind: str
) -> tuple[list[Column | None] | None, list[Problem]]:
    """Each cell's column (None: an empty header cell; _IGNORED: one reported here), or None
    when this is no header."""
    known = {_normal(name): c for c in COLUMNS[kind] for name in (c.header, *c.aliases)}
    columns: list[Column | None] = []
    problems: list[Problem] = []
    taken: dict[str, str] = {}
    for cell in header:
        name = _normal(cell)
        column = known.get(name)
        if name and column is None:
            problems.append(
                (line, f"unknown column {cell.strip()!r} (a {kind} has {_headers(kind)})")
            )
            column = _IGNORED
        elif column is not None and column.field in taken:
            problems.append((line, f"column {cell.strip()!r} repeats {taken[column.field]!r}"))
            column = _IGNORED
        elif column is not None:
            taken[column.field] = cell.strip()
        columns.append(column)
    if not taken:
        return None, [(line, f"no header: the first line must name the columns, {_headers(kind)}")]
    if "name" not in taken:
        return None, [*problems, (line, f"no {COLUMNS[kind][0].header} column")]
    return columns, problems


def _read_row(
    line: int,
    cells: list[str],
    columns: list[Column | None],
    kind: str,
    stored: Mapping[str, Entry] | None,
) -> tuple[Record | None, list[Problem]]:
    problems: list[Problem] = []
    values: dict[str, str] = {}
    for index, cell in enumerate(cells):
        column = columns[index] if index < len(columns) else None
        if column is _IGNORED:
            continue
        if column is not None:
            values[column.field] = _unquoted(cell.strip())
        elif cell.strip() and index >= len(columns):
            problems.append((line, f"{len(cells)} fields, the header has {len(columns)}"))
            break
        elif cell.strip():
            problems.append((line, f"field {index + 1} has no column name in the header"))
    for column in columns:
        if column is not None and column is not _IGNORED:
            values.setdefault(column.field, "")  # a short row: its missing cells are empty
    try:
        name = check_name(kind, values["name"])
    except ListError as exc:
        return None, [(line, str(exc)), *problems]
    if _CONTROL.search(name):
        problems.append((line, f"{name!r}: a name cannot hold control characters"))
    password, keep = _password(line, name, values.get("password", ""), kind, stored, problems)
    details = _details(line, values, kind, problems)
    status = _status(line, values.get("status", ""), problems)  # the last column of the grids
    return Record(line, name, password, keep, status, details), problems


def _unquoted(cell: str) -> str:
    """A cell as an export neutralised it, back as it was stored."""
    if cell.startswith("'") and cell[1:2] and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def _status(line: int, cell: str, problems: list[Problem]) -> str | None:
    status = cell.lower()
    if status and status not in STATUSES:
        problems.append((line, f"status {cell!r} is not one of {', '.join(STATUSES)}"))
    return status or None


def _password(
    line: int,
    name: str,
    cell: str,
    kind: str,
    stored: Mapping[str, Entry] | None,
    problems: list[Problem],
) -> tuple[str | None, bool]:
    if cell != PASSWORD_MARKER:
        return cell or None, False
    if stored is not None:
        entry = stored.get(name)
        if entry is None:
            problems.append(
                (
                    line,
                    f"{name!r} is a new {kind}: {PASSWORD_MARKER} keeps a stored password, "
                    "so give the password or leave it empty",
                )
            )
        elif entry.password_hash is None:
            problems.append(
                (line, f"{name!r} has no stored password for {PASSWORD_MARKER} to keep")
            )
    return None, True


def _details(
    line: int, values: Mapping[str, str], kind: str, problems: list[Problem]
) -> tuple[tuple[str, str], ...]:
    details: list[tuple[str, str]] = []
    for column in COLUMNS[kind]:
        if column.field in ("name", "password", "status") or column.field not in values:
            continue
        value = values[column.field]
        if column.max_length and len(value) > column.max_length:
            problems.append(
                (line, f"{column.header} is longer than {column.max_length} characters")
            )
        if column.field == "email" and value and not _EMAIL.fullmatch(value):
            problems.append((line, f"{value!r} is not an email address"))
        details.append((column.field, value))
    return tuple(details)


# --- export -------------------------------------------------------------------------------


def write(
    out: TextIO,
    kind: str,
    entries: Iterable[Entry],
    *,
    neutralise: bool = False,
    delimiter: str = ",",
) -> None:
    """The header, then one row per entry; a stored password shows as the marker, never more.
    `neutralise` quotes every cell a spreadsheet would take for a formula."""
    columns = COLUMNS[kind]
    writer = csv.writer(out, delimiter=delimiter)  # RFC 4180: CRLF, quotes where needed
    writer.writerow([column.header for column in columns])
    for entry in entries:
        cells = [_cell(entry, column.field) for column in columns]
        writer.writerow([neutralised(cell) for cell in cells] if neutralise else cells)


def neutralised(cell: str) -> str:
    return f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell


def _cell(entry: Entry, field: str) -> str:
    if field == "name":
        return entry.name
    if field == "password":
        return PASSWORD_MARKER if entry.password_hash is not None else ""
    if field == "status":
        return entry.status.capitalize()  # as SmartTracker writes it: "Enabled"
    return entry.detail(field)
