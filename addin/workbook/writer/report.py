"""What a write tells its caller: the report of what was done, and the two ways it stops."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...problems import Problem, error


class WriteRefused(Exception):
    """An update that cannot be written without rewriting what people made.

    Raised for a row deletion that would have to move formulas, merged cells, conditional
    formats or other ranges below it; the caller reports ``problem()`` and may retry without
    the update at ``index``.
    """

    def __init__(self, sheet: str, message: str, fix: str, index: int) -> None:
        super().__init__(f"{sheet}: {message}")
        self.sheet, self.message, self.fix, self.index = sheet, message, fix, index

    def problem(self) -> Problem:
        return error(self.sheet, "", self.message, self.fix)


class BadWorkbook(Exception):
    """The file is not an .xlsx workbook this writer can update; the message says why."""


@dataclass
class WriteReport:
    """What ``apply`` did.

    Attributes:
      changed: sheet name -> cells written (``J12``), in the order written.
      appended / deleted: sheet name -> number of rows appended / deleted.
      created: sheets created because they were missing.
      problems: updates (or parts of them) that could not be applied, as Problems.
      skipped: indexes of the updates that could not be applied at all.
      calc_chain_removed: xl/calcChain.xml was dropped (a formula cell was overwritten or deleted).
      full_calc_on_load: workbook.xml now asks Excel to recalculate when it opens the file.
      had: the names of the sheets of the workbook written from (the copy must keep them all).
    """

    changed: dict[str, list[str]] = field(default_factory=dict)
    appended: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    calc_chain_removed: bool = False
    full_calc_on_load: bool = False
    had: list[str] = field(default_factory=list)

    @property
    def sheets(self) -> list[str]:
        """The sheets that were rewritten."""
        names = [*self.changed, *self.appended, *self.deleted, *self.created]
        return list(dict.fromkeys(names))
