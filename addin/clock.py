"""The workbook's time: its zone (Settings timezone, else this PC's), today and now there."""

from __future__ import annotations

import datetime as dt
import logging
from functools import lru_cache

log = logging.getLogger("receivables")


@lru_cache(maxsize=16)
def zone(name: str) -> dt.tzinfo:
    """The IANA zone ``name``, else this machine's zone (a bad name is reported by `check`)."""
    if name:
        from zoneinfo import ZoneInfo

        try:
            return ZoneInfo(name)
        except (KeyError, ValueError):
            log.warning("unknown time zone %r; using this PC's", name)
    local = dt.datetime.now().astimezone().tzinfo
    assert local is not None
    return local


def now(timezone: str = "") -> dt.datetime:
    """Now, aware, in the workbook's zone."""
    return dt.datetime.now(zone(timezone))


def today(timezone: str = "") -> dt.date:
    """Today in the workbook's zone: what ``--as-of`` defaults to."""
    return now(timezone).date()
