"""The texts of an invoice's Status column: made and read here, nowhere else.

``Reminder 2 sent 2026-04-07`` and ``Manual reminder sent 2026-04-07`` are written when a
reminder goes out (addin.reminders); ``On hold until 2026-07-15`` while Hold Until is on or
after the day (the refresh, addin.dashboard); ``Paid``, ``Open``, ``Overdue`` otherwise. The
refresh keeps a reminder status it finds in the cell (``is_reminder``), so the column says what
was done last. A hold is also worded for the Log (``hold_words``), and read back from it
(``hold_until``) to know which skipped reminders are recorded already.
"""

from __future__ import annotations

import datetime as dt
import re

PAID, OPEN, OVERDUE = "Paid", "Open", "Overdue"
_REMINDER = re.compile(r"(?:Reminder \d+|Manual reminder) sent \d{4}-\d{2}-\d{2}")


def reminder_sent(step: int, day: dt.date) -> str:
    """``Reminder 2 sent 2026-04-07``."""
    return f"Reminder {step} sent {day.isoformat()}"


def manual_sent(day: dt.date) -> str:
    """``Manual reminder sent 2026-04-07``."""
    return f"Manual reminder sent {day.isoformat()}"


def hold_status(until: dt.date) -> str:
    """``On hold until 2026-07-15``."""
    return f"On hold until {until.isoformat()}"


HOLD_WORDS = "on hold until "  # how ``hold_words`` begins (the Log rows of skipped reminders are found by it)


def hold_words(until: dt.date, reason: str) -> str:
    """How a hold is reported (Log, preview, warnings): ``on hold until 2026-07-15: disputed``."""
    reason = " ".join(reason.split())
    return f"{HOLD_WORDS}{until.isoformat()}" + (f": {reason}" if reason else "")


def hold_until(words: str) -> dt.date | None:
    """The day ``hold_words`` named (``on hold until 2026-07-15: disputed`` -> 2026-07-15), or None."""
    if not words.startswith(HOLD_WORDS):
        return None
    try:
        return dt.date.fromisoformat(words[len(HOLD_WORDS):][:10])
    except ValueError:
        return None


def is_reminder(text: object) -> bool:
    """Whether a Status cell holds a reminder status (kept by the refresh)."""
    return isinstance(text, str) and _REMINDER.fullmatch(text.strip()) is not None
