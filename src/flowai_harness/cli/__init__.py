"""The ``flowai-harness`` command line. Entry point: :func:`main`."""

from __future__ import annotations

from flowai_harness.cli.app import main

__all__ = ["main"]
