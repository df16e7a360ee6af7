"""The functions :func:`flowai_harness.cli.main` hands to the commands for one call.

Test suites written for the reference CLI replace ``flowai_harness.cli.run_studio_server`` (and
``_start_frontend_dev_server``, ``_terminate_frontend_dev_server``, ``_load_runtime_target``)
with ``monkeypatch``. The commands live in their own modules and never import the package, so
``main`` reads those attributes of the package at each call and installs them here; a command
run without ``main`` (click's test runner, for example) uses its module's own functions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

__all__ = ["PatchPoints", "current_patch_points", "patch_points_installed"]


@dataclass(frozen=True, slots=True)
class PatchPoints:
    """What ``dev``, ``serve`` and ``mcp python`` call to do their work; ``None`` means the
    function of the command's own module.

    Attributes:
        run_studio_server: Serves the Studio until stopped:
            ``run_studio_server(app, host=..., port=..., serve_studio=...)``.
        start_frontend_dev_server: Starts the UI dev server of ``dev --studio-dir`` from its
            options (``.host``, ``.port``, ``.frontend_host``, ``.frontend_port``,
            ``.studio_dir``) and returns a handle.
        terminate_frontend_dev_server: Stops the UI dev server given the handle.
        load_runtime_target: Resolves ``mcp python``'s ``MODULE:OBJECT`` to a runtime.
    """

    run_studio_server: Callable[..., object] | None = None
    start_frontend_dev_server: Callable[[Any], Any] | None = None
    terminate_frontend_dev_server: Callable[[Any], object] | None = None
    load_runtime_target: Callable[[str], Any] | None = None


_NOTHING_INSTALLED = PatchPoints()
_installed: ContextVar[PatchPoints | None] = ContextVar(
    "flowai_harness_cli_patch_points", default=None
)


def current_patch_points() -> PatchPoints:
    """The functions installed by the running :func:`flowai_harness.cli.main` (all ``None``
    outside it)."""
    return _installed.get() or _NOTHING_INSTALLED


@contextlib.contextmanager
def patch_points_installed(points: PatchPoints) -> Iterator[None]:
    """Make ``points`` the functions the commands call until the block ends."""
    token = _installed.set(points)
    try:
        yield
    finally:
        _installed.reset(token)
