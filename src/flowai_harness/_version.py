"""The installed distribution version, looked up on first use (metadata lookup is slow)."""

from __future__ import annotations

from functools import cache


@cache
def installed_version() -> str:
    """Return the installed ``flowai-harness`` version, or ``"0+unknown"`` outside an install."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flowai-harness")
    except PackageNotFoundError:
        return "0+unknown"
