"""Import-time benchmark: the typical flowai-harness import against the pydantic floor.

Each sample is the wall time of one fresh interpreter (``sys.executable -c SCRIPT``), measured
from this process with ``time.perf_counter``. The two scripts run interleaved so that machine
noise hits both alike. The target: the typical import costs at most 1.5x the floor, i.e. the
cost of any library that defines one pydantic model.

Run from the repository root with the project's interpreter::

    .venv/bin/python benchmarks/import_time.py            # table, exit 1 if over target
    .venv/bin/python benchmarks/import_time.py --json     # machine-readable
    .venv/bin/python benchmarks/import_time.py --no-check # report only, exit 0

Exit codes: 0 within target (or ``--no-check``), 1 over target or a heavy module loaded,
2 a script failed to run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

TYPICAL_IMPORT = (
    "from flowai_harness import define_tenant, define_coordinator, define_specialist, "
    "define_runtime, create_runtime"
)
PYDANTIC_FLOOR = "from pydantic import BaseModel\n\nclass Model(BaseModel):\n    name: str\n"

# Must not load on import (import stays cheap): provider SDKs, web stack, drivers, search engine.
HEAVY_MODULES = (
    "anthropic",
    "openai",
    "fastapi",
    "starlette",
    "uvicorn",
    "psycopg",
    "psycopg_pool",
    "redis",
    "tantivy",
    "sqlglot",
    "jsonschema",
    "mcp",
    "rich",
    "click",
)

DEFAULT_RUNS = 15
DEFAULT_TARGET = 1.5


class ScriptFailedError(RuntimeError):
    """A benchmarked script exited non-zero."""


@dataclass(frozen=True)
class Timing:
    """Wall times of one script over fresh interpreters, in seconds."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p90(self) -> float:
        ordered = sorted(self.samples)
        # Nearest-rank percentile: with 15 samples, the 14th smallest.
        rank = max(1, -(-9 * len(ordered) // 10))
        return ordered[rank - 1]


def run_once(script: str) -> float:
    """Run ``script`` in a fresh interpreter and return its wall time in seconds."""
    start = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        raise ScriptFailedError(
            f"script exited with {completed.returncode}:\n{script}\n{completed.stderr.strip()}"
        )
    return elapsed


def measure(runs: int, warmup: int) -> tuple[Timing, Timing]:
    """Time the typical import and the floor, interleaved, after ``warmup`` untimed rounds."""
    for _ in range(warmup):
        run_once(TYPICAL_IMPORT)
        run_once(PYDANTIC_FLOOR)
    typical: list[float] = []
    floor: list[float] = []
    for index in range(runs):
        # Alternate which script goes first so neither always follows the other.
        if index % 2 == 0:
            typical.append(run_once(TYPICAL_IMPORT))
            floor.append(run_once(PYDANTIC_FLOOR))
        else:
            floor.append(run_once(PYDANTIC_FLOOR))
            typical.append(run_once(TYPICAL_IMPORT))
    return Timing(tuple(typical)), Timing(tuple(floor))


def heavy_modules_loaded() -> list[str]:
    """Return the heavy top-level modules the typical import loads (should be none)."""
    probe = (
        f"{TYPICAL_IMPORT}\n"
        "import json, sys\n"
        "print(json.dumps(sorted({name.partition('.')[0] for name in sys.modules})))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise ScriptFailedError(f"probe exited with {completed.returncode}:\n{completed.stderr}")
    loaded = set(json.loads(completed.stdout.splitlines()[-1]))
    return sorted(loaded.intersection(HEAVY_MODULES))


def render_table(
    typical: Timing, floor: Timing, *, target: float, heavy: list[str], passed: bool
) -> str:
    """Format the result as a side-by-side text table."""
    ratio = typical.median / floor.median
    rows = [
        f"import time over {len(typical.samples)} fresh interpreters "
        f"(Python {sys.version.split()[0]})",
        f"{'':16}{'typical import':>16}{'pydantic floor':>16}",
        f"{'median (ms)':16}{typical.median * 1000:>16.1f}{floor.median * 1000:>16.1f}",
        f"{'p90 (ms)':16}{typical.p90 * 1000:>16.1f}{floor.p90 * 1000:>16.1f}",
        f"ratio (median): {ratio:.2f}x  (target <= {target:.2f}x)",
        f"heavy modules loaded: {', '.join(heavy) if heavy else 'none'}",
        f"result: {'PASS' if passed else 'FAIL'}",
    ]
    return "\n".join(rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Compare the typical flowai-harness import with the pydantic floor."
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--no-check", action="store_true", help="only report; exit 0 even over target"
    )
    parser.add_argument("--runs", type=int, default=DEFAULT_RUNS, help="timed rounds (15)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (1)")
    parser.add_argument("--target", type=float, default=DEFAULT_TARGET, help="maximum ratio (1.5)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the process exit code."""
    args = parse_args(argv)
    try:
        typical, floor = measure(args.runs, args.warmup)
        heavy = heavy_modules_loaded()
    except ScriptFailedError as exc:
        print(f"import_time: {exc}", file=sys.stderr)
        return 2
    ratio = typical.median / floor.median
    within_target = ratio <= args.target and not heavy
    report: dict[str, object] = {
        "python": sys.version.split()[0],
        "runs": args.runs,
        "typicalImport": {
            "script": TYPICAL_IMPORT,
            "medianMs": round(typical.median * 1000, 2),
            "p90Ms": round(typical.p90 * 1000, 2),
        },
        "pydanticFloor": {
            "script": PYDANTIC_FLOOR,
            "medianMs": round(floor.median * 1000, 2),
            "p90Ms": round(floor.p90 * 1000, 2),
        },
        "ratio": round(ratio, 3),
        "target": args.target,
        "heavyModulesLoaded": heavy,
        "withinTarget": within_target,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render_table(typical, floor, target=args.target, heavy=heavy, passed=within_target))
    if args.no_check:
        return 0
    return 0 if within_target else 1


if __name__ == "__main__":
    raise SystemExit(main())
