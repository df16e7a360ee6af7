"""``python -m flowai_harness.cli ...``: the same command line as the ``flowai-harness`` script."""

from __future__ import annotations

from flowai_harness.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
