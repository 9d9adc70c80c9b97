"""The planner, pure: a sheet's layout and the updates for it -> the row edits, and problems.

Rows are found by key (header names and values compared normalized), never by row number, so
the same updates apply onto a newer version of the file. Updates apply in order: a row set by
one is found by its new key by the next, rows appended by one may be replaced by the next.
No I/O here: ``plan`` is tested with inline layouts.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ...actions import AppendRows, Cell, ReplaceRows, SetAt, SetCells, SetColumn, Update
from ...problems import Problem, error, warning
from .. import schema
from ..cellref import number
from .layout import Layout
from .ranges import check_deletion, main_table
from .report import WriteRefused
from .xmltext import REF, norm, value_text

MAX_ROWS = 1_048_576


@dataclass(frozen=True)
class SheetEdits:
    """What pass two writes into a sheet.

    Attributes:
      row_sets: row of the sheet -> column -> value, for the rows that change.
      deleted: rows deleted, in order (later rows move up).
      new_rows: (row, column -> value) of the rows written below the records or at an
        address the sheet lacks, in row order.
      at_rows: rows with cells set by address (their new cells take the row's or column's style).
      header_new: the first of ``new_rows`` is the header of a sheet this write creates.
      max_col: the rightmost header.
      appended: rows appended (the header of a new sheet aside).
      grow: (last record, last row appended) for the ranges that grow, or None.
      appended_bottom: the last row appended, if any (the table grows to it).
      problems / skipped: updates (or parts of them) that could not be applied.
      write: False when the sheet cannot be written at all (row 1 holds no headers).
    """

    row_sets: Mapping[int, Mapping[int, Cell]] = field(default_factory=dict)
    deleted: tuple[int, ...] = ()
    new_rows: tuple[tuple[int, Mapping[int, Cell]], ...] = ()
    at_rows: frozenset[int] = frozenset()
    header_new: bool = False
    max_col: int = 0
    appended: int = 0
    grow: tuple[int, int] | None = None
    appended_bottom: int | None = None
    problems: tuple[Problem, ...] = ()
    skipped: tuple[int, ...] = ()
    write: bool = True

    def shift(self, n: int) -> int:
        """Where row ``n`` of the sheet goes once the deleted rows are gone."""
        return n - bisect_left(self.deleted, n)


def wanted(updates: Iterable[Update]) -> dict[str, frozenset[str]]:
    """Normalized header -> the normalized keys the updates look for in its column."""
    out: dict[str, set[str]] = {}
    done: list[tuple[str, Sequence[str]]] = []  # the keys already in: a refresh's three SetColumns share theirs
    for u in updates:
        if isinstance(u, SetCells):
            out.setdefault(norm(u.key_header), set()).add(norm(u.key))
        elif isinstance(u, SetColumn):
            header = norm(u.key_header)
            if not any(h == header and keys is u.keys for h, keys in done):
                done.append((header, u.keys))  # 100,000 keys, normalized at C speed where they can be
                out.setdefault(header, set()).update(schema.normalize_all(u.keys))
        elif isinstance(u, ReplaceRows):
            for h, v in u.where:
                out.setdefault(norm(h), set()).add(norm(v))
    return {h: frozenset(keys) for h, keys in out.items()}


class _Row:
    """A record while updates are planned: a row of the sheet (``orig``) or one to append."""

    __slots__ = ("orig", "keys", "sets", "deleted")

    def __init__(self, orig: int | None, keys: dict[int, str], sets: dict[int, Cell] | None = None) -> None:
        self.orig = orig
        self.keys = keys
        self.sets: dict[int, Cell] = sets if sets is not None else {}
        self.deleted = False


def plan(layout: Layout, updates: Sequence[tuple[int, Update]],
         looked_for: Mapping[str, frozenset[str]] | None = None) -> SheetEdits:
    """The edits of one sheet (``updates``: (index, update) in order; ``looked_for``: their
    ``wanted`` keys, when the caller has them already). Raises WriteRefused
    when a deletion would move what people made or the rows do not fit, ValueError for a
    cell address that is not one (a bug of the caller)."""
    return _Planner(layout, updates, looked_for).run()


class _Planner:
    def __init__(self, layout: Layout, updates: Sequence[tuple[int, Update]],
                 looked_for: Mapping[str, frozenset[str]] | None) -> None:
        self.layout, self.name, self.updates = layout, layout.name, updates
        self.header = dict(layout.header)
        self.header_new: dict[int, str] = {}
        self.wanted = looked_for if looked_for is not None else wanted(u for _, u in updates)
        self.rows = [_Row(n, dict(keys)) for n, keys in layout.keys.items()]
        # column -> key -> the live rows holding it, in the order they came to hold it
        self.index: dict[int, dict[str, list[_Row]]] = {}
        self._lookup()
        for r in self.rows:
            self._add(r)
        self.appended: list[_Row] = []
        self.at_sets: dict[int, dict[int, Cell]] = {}
        self.normalized: dict[str, str] = {}  # key as given -> normalized (see _norm)
        self.normalized_all: tuple[Sequence[str], list[str]] = ((), [])  # see _norm_all
        self.problems: list[Problem] = []
        self.problem_keys: set[tuple[str, str]] = set()
        self.skipped: list[int] = []

    def _lookup(self) -> None:
        self.columns: dict[str, int | None] = {}  # header as an update names it -> column
        self.lookup = {self.header[h] for h in self.wanted if h in self.header}
        for col in self.lookup:
            self.index.setdefault(col, {})

    def run(self) -> SheetEdits:
        if not self.header and not all(isinstance(u, SetAt) for _, u in self.updates):
            if self.layout.present:
                self.skipped.extend(i for i, _ in self.updates)
                self._problem("error", "1", "row 1 holds no headers",
                              "type the column headers in row 1; records start in row 2")
                return SheetEdits(problems=tuple(self.problems), skipped=tuple(self.skipped), write=False)
            self._new_header()
        for i, u in self.updates:
            if isinstance(u, SetCells):
                self._set(i, u)
            elif isinstance(u, SetColumn):
                self._set_column(i, u)
            elif isinstance(u, ReplaceRows):
                self._replace(u)
            elif isinstance(u, SetAt):
                self._set_at(u)
            else:
                self._append(u.rows)
        return self._finish()

    def _new_header(self) -> None:
        """An empty sheet: headers from the schema (or from the rows to write)."""
        headers: list[str] = []
        if norm(self.name) in schema.SHEETS_BY_KEY:
            headers = [c.header for c in schema.sheet(self.name).columns]
        for _, u in self.updates:
            for r in u.rows if isinstance(u, AppendRows | ReplaceRows) else ():
                headers += [h for h, _ in r if norm(h) not in {norm(x) for x in headers}]
        for col, h in enumerate(headers, 1):
            self.header[norm(h)] = col
            self.header_new[col] = h
        self._lookup()

    def _problem(self, severity: str, cell: str, message: str, fix: str) -> None:
        if (cell, message) in self.problem_keys:
            return
        self.problem_keys.add((cell, message))
        make = error if severity == "error" else warning
        self.problems.append(make(self.name, cell, message, fix))

    def _column(self, header: str) -> int | None:
        """The column of a header as an update names it (remembered: 100,000 updates name a few)."""
        try:
            return self.columns[header]
        except KeyError:
            col = self.columns[header] = self.header.get(norm(header))
            return col

    def _norm(self, key: str) -> str:
        """A key normalized (remembered: a refresh gives the same keys for each column it sets)."""
        try:
            return self.normalized[key]
        except KeyError:
            normal = self.normalized[key] = norm(key)
            return normal

    def _columns(self, values: Iterable[tuple[str, Cell]]) -> dict[int, Cell]:
        out: dict[int, Cell] = {}
        for h, v in values:
            col = self._column(h)
            if col is None:
                self._problem("warning", "1", f'column "{h}" is missing, so it was not written',
                              f'add the header "{h}" in row 1')
            else:
                out[col] = v
        return out

    def _norm_all(self, keys: Sequence[str]) -> list[str]:
        """Keys normalized (the last ones remembered: a refresh sets three columns of the same keys)."""
        if keys is not self.normalized_all[0]:
            self.normalized_all = (keys, schema.normalize_all(keys))
        return self.normalized_all[1]

    def _add(self, row: _Row) -> None:
        for col, key in row.keys.items():
            if col in self.index:
                self.index[col].setdefault(key, []).append(row)

    def _drop(self, row: _Row, col: int) -> None:
        """The row no longer holds its key in ``col``."""
        rows = self.index[col][row.keys[col]]
        rows.remove(row)
        if not rows:
            del self.index[col][row.keys[col]]

    def _found(self, col: int, key: str) -> list[_Row]:
        """The rows holding ``key`` in ``col`` (a copy: deleting them changes the index)."""
        return list(self.index.get(col, {}).get(key, ()))

    def _first(self, col: int, key: str) -> _Row | None:
        """The first row holding ``key`` in ``col``."""
        rows = self.index.get(col, {}).get(key)
        return rows[0] if rows else None

    def _write(self, row: _Row, sets: Mapping[int, Cell]) -> None:
        """``sets`` into the row; a key it changes finds the row from now on."""
        for c, v in sets.items():
            row.sets[c] = v
            if c in self.lookup:
                key = norm(value_text(v))
                if row.keys.get(c) != key:
                    if c in row.keys:
                        self._drop(row, c)
                    row.keys[c] = key
                    self.index[c].setdefault(key, []).append(row)

    def _not_found(self, i: int, key_header: str, key: str) -> None:
        self.skipped.append(i)
        self._problem("warning", "", f'{key_header} "{key}" was not found, so its row was not updated',
                      "check that the row was not deleted or its key changed")

    def _set(self, i: int, u: SetCells) -> None:
        col = self._column(u.key_header)
        if col is None:
            self.skipped.append(i)
            self._problem("warning", "1", f'column "{u.key_header}" is missing, so "{u.key}" could not be updated',
                          f'add the header "{u.key_header}" in row 1')
            return
        row = self._first(col, self._norm(u.key))
        if row is None:
            self._not_found(i, u.key_header, u.key)
            return
        self._write(row, self._columns(u.values))

    def _set_column(self, i: int, u: SetColumn) -> None:
        """What a SetCells for each key does (the update is skipped when no key is found)."""
        col = self._column(u.key_header)
        if col is None:
            self.skipped.append(i)
            self._problem("warning", "1", f'column "{u.key_header}" is missing, so {len(u.keys)} row(s) could not '
                          "be updated", f'add the header "{u.key_header}" in row 1')
            return
        c = self._column(u.header)
        before = len(self.skipped)
        found = 0
        if c is not None and c not in self.lookup:  # the usual case: the column set holds no keys
            holding = map(self.index.get(col, {}).get, self._norm_all(u.keys))
            for key, value, held in zip(u.keys, u.values, holding, strict=True):
                if held:
                    held[0].sets[c] = value
                    found += 1
                else:
                    self._not_found(i, u.key_header, key)
        else:  # each row found after the writes before it (they may change its key)
            for key, value in zip(u.keys, u.values, strict=True):
                row = self._first(col, self._norm(key))
                if row is None:
                    self._not_found(i, u.key_header, key)
                elif c is None:
                    found += 1
                    self._columns(((u.header, value),))  # says the column is missing
                else:
                    found += 1
                    self._write(row, {c: value})
        del self.skipped[before:]
        if not found:
            self.skipped.append(i)

    def _set_at(self, u: SetAt) -> None:
        for ref, value in u.cells:
            m = REF.fullmatch(ref.strip())
            if m is None or not 1 <= int(m.group(2)) <= MAX_ROWS:
                raise ValueError(f"{self.name}: {ref!r} is not a cell address")
            self.at_sets.setdefault(int(m.group(2)), {})[number(m.group(1))] = value

    def _replace(self, u: ReplaceRows) -> None:
        where: list[tuple[int, str]] = []
        for h, v in u.where:
            col = self._column(h)
            if col is None:
                self._problem("warning", "1", f'column "{h}" is missing, so no rows were replaced',
                              f'add the header "{h}" in row 1')
                where = []
                break
            where.append((col, norm(v)))
        if where:
            first_col, first_key = where[0]
            for row in self._found(first_col, first_key):
                if all(row.keys.get(c) == k for c, k in where):
                    row.deleted = True
                    for col in row.keys:
                        if col in self.index:
                            self._drop(row, col)
        self._append(u.rows)

    def _append(self, rows: Sequence[tuple[tuple[str, Cell], ...]]) -> None:
        for values in rows:
            sets = self._columns(values)
            row = _Row(None, {c: norm(value_text(v)) for c, v in sets.items() if c in self.lookup}, sets)
            self.appended.append(row)
            self._add(row)

    def _adding_rows(self) -> int:
        """The index of the last update that adds rows: the one a refusal of new rows names (the
        store sets it aside and writes the others)."""
        return next((i for i, u in reversed(self.updates) if isinstance(u, AppendRows | ReplaceRows) and u.rows),
                    self.updates[-1][0])  # only a new sheet's header row: the last update made it

    def _finish(self) -> SheetEdits:
        layout = self.layout
        deleted = tuple(sorted(r.orig for r in self.rows if r.deleted and r.orig is not None))
        deleted_set = set(deleted)
        row_sets = {r.orig: r.sets for r in self.rows if r.sets and not r.deleted and r.orig is not None}
        edits = SheetEdits(deleted=deleted)
        last = last_record = 1
        for n in reversed(layout.candidates):
            if n not in deleted_set and n not in layout.blank:
                last, last_record = edits.shift(n), n
                break
        appended = [r for r in self.appended if not r.deleted]
        if self.header_new:
            appended.insert(0, _Row(None, {}, dict(self.header_new)))
            last = 0
        if last + len(appended) > MAX_ROWS:
            raise WriteRefused(self.name, f"{len(appended)} rows do not fit below row {last}",
                               "move old rows to another workbook", self._adding_rows())
        new_rows = [(last + k, r.sets) for k, r in enumerate(appended, 1)]
        if deleted:
            index = next((i for i, u in self.updates if isinstance(u, ReplaceRows)), self.updates[0][0])
            check_deletion(layout, deleted, deleted_set, index)
        appended_bottom = new_rows[-1][0] if new_rows else None
        table = main_table(layout.tables)
        if appended_bottom is not None and table is not None and table.totals:
            raise WriteRefused(self.name, "rows cannot be added below a table's totals row",
                               "turn off the totals row of the table (Table Design > Total Row)", self._adding_rows())
        grow = (max(last_record, 2), new_rows[-1][0]) if new_rows and not self.header_new else None
        count = len(new_rows) - (1 if self.header_new else 0)
        at_new: list[tuple[int, dict[int, Cell]]] = []
        if self.at_sets:
            if deleted:
                index = next(i for i, u in self.updates if isinstance(u, SetAt))
                raise WriteRefused(self.name, "cells cannot be set by address while rows of the sheet are deleted",
                                   "run the command again: the cells are written at the next run", index)
            present, appended_at = set(layout.present), {n for n, _ in new_rows}
            for n, sets in sorted(self.at_sets.items()):
                if n in present:
                    row_sets[n] = {**row_sets.get(n, {}), **sets}
                elif n in appended_at:
                    new_rows = [(m, {**s, **sets} if m == n else s) for m, s in new_rows]
                else:
                    at_new.append((n, sets))
        return SheetEdits(
            row_sets=row_sets, deleted=deleted, new_rows=tuple(sorted(new_rows + at_new, key=lambda r: r[0])),
            at_rows=frozenset(self.at_sets), header_new=bool(self.header_new),
            max_col=max(self.header.values(), default=0), appended=count, grow=grow,
            appended_bottom=appended_bottom, problems=tuple(self.problems), skipped=tuple(self.skipped))
