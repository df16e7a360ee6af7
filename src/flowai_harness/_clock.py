"""UTC timestamps as the ISO 8601 text the wire formats carry, ending in ``Z``.

The precision is part of each format, so each precision has its own function, and a record
keeps the one it has always had:

* :func:`utc_seconds` (``2026-05-21T10:04:05Z``): plans and stored references;
* :func:`utc_millis` (``2026-05-21T10:04:05.123Z``): Studio rows, run records, profiling and
  knowledge records (rows written within one second still sort in order);
* :func:`utc_micros` (``2026-05-21T10:04:05.123456Z``): eval run records.

Each reads the clock when ``at`` is ``None``, or formats ``at`` (seconds since the epoch).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

__all__ = ["utc_micros", "utc_millis", "utc_seconds"]


def _format(at: float | None, timespec: Literal["seconds", "milliseconds", "microseconds"]) -> str:
    moment = datetime.now(UTC) if at is None else datetime.fromtimestamp(at, UTC)
    return moment.isoformat(timespec=timespec).replace("+00:00", "Z")


def utc_seconds(at: float | None = None) -> str:
    """Return the UTC time in whole seconds: ``2026-05-21T10:04:05Z``.

    Args:
        at: Seconds since the epoch; ``None`` reads the clock.
    """
    return _format(at, "seconds")


def utc_millis(at: float | None = None) -> str:
    """Return the UTC time with milliseconds: ``2026-05-21T10:04:05.123Z``.

    Args:
        at: Seconds since the epoch; ``None`` reads the clock.
    """
    return _format(at, "milliseconds")


def utc_micros(at: float | None = None) -> str:
    """Return the UTC time with microseconds: ``2026-05-21T10:04:05.123456Z``.

    Args:
        at: Seconds since the epoch; ``None`` reads the clock.
    """
    return _format(at, "microseconds")
