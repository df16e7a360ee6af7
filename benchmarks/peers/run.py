"""flowai-harness against LangGraph, PydanticAI and the OpenAI Agents SDK on the same workloads.

Every framework runs in its own processes from ``benchmarks/peers/.venv`` (created and filled
from ``requirements.txt`` on first use, or with ``--setup``; the project's own environment is
never touched). For each framework this script spawns its workload module
(``workloads/<framework>_workload.py``) once per phase, reads one JSON object from it, and prints
one table:

* per-step overhead: one step is one model turn and the tool call it asks for (20 calls then
  the answer = 21 steps per run); framework time per step minus the same workload's bare
  asyncio loop, median / min / max over repeated samples;
* time to first event of a warm run;
* cold import: wall time of ``python -c "<typical import>"`` in fresh interpreters, beside a
  script defining one pydantic model (the floor any pydantic-based library pays);
* 1,000 and 10,000 concurrent sessions (5 tool calls each, 10 ms model latency): wall time
  (and CPU time) and peak RSS growth per session. The 10,000 phase is capped at ``--timeout``
  seconds (120): a run over it is reported as timed out, and it is not started at all when the
  1,000 phase, scaled by 10, already exceeds the cap (the 1,000 phase may take 2.5x the cap).

A framework whose run did not execute every tool call or did not answer every run is refused
(its figures are not printed) and the exit code is 1.

Usage (from the repository root, any Python 3.11+)::

    python benchmarks/peers/run.py              # full run, about 10-15 minutes on 2 cores
    python benchmarks/peers/run.py --quick      # smoke run: small sizes, no 10,000 sessions
    python benchmarks/peers/run.py --setup      # (re)install the peers' environment only
    python benchmarks/peers/run.py --json out.json --frameworks flowai-harness,langgraph
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import venv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
VENV = HERE / ".venv"
PYTHON = VENV / "bin" / "python"

FRAMEWORKS = {
    "flowai-harness": "workloads.flowai_harness_workload",
    "langgraph": "workloads.langgraph_workload",
    "pydantic-ai": "workloads.pydantic_ai_workload",
    "openai-agents": "workloads.openai_agents_workload",
}
FLOOR_SCRIPT = "from pydantic import BaseModel\nclass Model(BaseModel):\n    name: str\n"
# Settings that would make a peer call home (tracing exporters) are dropped from the children.
_DROPPED_ENV = ("LANGSMITH_", "LANGCHAIN_", "OPENAI_", "ANTHROPIC_", "LOGFIRE_", "OTEL_")


class PhaseFailed(RuntimeError):
    """A workload process failed or printed no result."""


@dataclass
class FrameworkReport:
    """Everything measured for one framework, or why it was refused."""

    name: str
    version: str = "?"
    steps: dict[str, Any] | None = None
    import_ms: float | None = None
    sessions: dict[int, dict[str, Any] | str] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- environment


def ensure_venv(force: bool) -> None:
    """Create ``.venv`` and install the pinned peers plus this repository (editable)."""
    if PYTHON.exists() and not force:
        return
    print(f"setting up {VENV} (one time) ...", file=sys.stderr)
    if not PYTHON.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
        subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run(
        [
            str(PYTHON),
            "-m",
            "pip",
            "install",
            "-q",
            "-r",
            str(HERE / "requirements.txt"),
            "-e",
            str(REPO),
        ],
        check=True,
    )


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_ENV)}
    env["OPENAI_AGENTS_DISABLE_TRACING"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "0"
    return env


def run_phase(module: str, args: list[str], timeout: float | None) -> dict[str, Any]:
    """Run one workload phase in a fresh process; return its JSON result."""
    completed = subprocess.run(
        [str(PYTHON), "-m", module, *args],
        cwd=HERE,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.strip().splitlines()[-8:])
        raise PhaseFailed(f"{module} {' '.join(args)} exited {completed.returncode}:\n{tail}")
    try:
        return json.loads(completed.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError) as exc:
        raise PhaseFailed(f"{module} {' '.join(args)} printed no JSON result") from exc


def import_times(lines: dict[str, str], runs: int) -> dict[str, float]:
    """Median wall ms of ``python -c LINE`` per name, fresh interpreters, interleaved."""
    samples: dict[str, list[float]] = {name: [] for name in lines}
    for round_index in range(runs + 1):  # round 0 warms bytecode caches, untimed
        for name, line in lines.items():
            started = time.perf_counter()
            subprocess.run([str(PYTHON), "-c", line], cwd=HERE, env=child_env(), check=True)
            if round_index:
                samples[name].append((time.perf_counter() - started) * 1000)
    return {name: statistics.median(values) for name, values in samples.items()}


def typical_import(module: str) -> str:
    out = subprocess.run(
        [str(PYTHON), "-c", f"import {module} as m; print(m.IMPORT)"],
        cwd=HERE,
        env=child_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


# ----------------------------------------------------------------------------- checks


def completeness(result: dict[str, Any]) -> str | None:
    """Why a phase result cannot be reported, or None when every turn ran."""
    if result["toolCalls"] != result["expectedToolCalls"]:
        return f"{result['phase']}: {result['toolCalls']} of {result['expectedToolCalls']} tool calls ran"
    if result["answered"] != result["runs"]:
        return f"{result['phase']}: {result['answered']} of {result['runs']} runs answered"
    return None


def measure(name: str, args: argparse.Namespace) -> FrameworkReport:
    """All phases of one framework."""
    module = FRAMEWORKS[name]
    report = FrameworkReport(name)
    print(f"[{name}] steps ...", file=sys.stderr)
    steps_args = ["--phase", "steps", "--runs", str(args.runs), "--repeats", str(args.repeats)]
    steps = run_phase(module, steps_args, timeout=args.timeout * 2)
    report.version = steps["version"]
    if reason := completeness(steps):
        report.refused.append(reason)
    report.steps = steps
    smaller: dict[str, Any] | None = None
    for count in args.sessions:
        # The first size may take longer on a loaded machine; the larger ones are capped.
        limit = args.timeout * (2.5 if smaller is None else 1.0)
        if smaller is not None and smaller["wallSecs"] * count / smaller["sessions"] > limit:
            report.sessions[count] = (
                f"> {limit:.0f} s (not run: {smaller['sessions']:,} took {smaller['wallSecs']:.0f} s)"
            )
            continue
        print(f"[{name}] {count} sessions ...", file=sys.stderr)
        session_args = ["--phase", "sessions", "--sessions", str(count), "--calls", "5"]
        try:
            result = run_phase(module, session_args, timeout=limit)
        except subprocess.TimeoutExpired:
            report.sessions[count] = f"timed out (> {limit:.0f} s)"
            for larger in args.sessions[args.sessions.index(count) + 1 :]:
                report.sessions[larger] = f"not run ({count:,} timed out)"
            break
        smaller = result
        if reason := completeness(result):
            report.refused.append(reason)
        report.sessions[count] = result
    return report


# ----------------------------------------------------------------------------- output


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kib = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        )
    except (OSError, StopIteration):
        mem_kib = 0
    python = subprocess.run(
        [str(PYTHON), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return {
        "date": time.strftime("%Y-%m-%d"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ramGiB": round(mem_kib / 1024 / 1024, 1),
        "python": python,
    }


def _sessions_cell(result: dict[str, Any] | str | None) -> tuple[str, str]:
    if result is None:
        return "not run", "not run"
    if isinstance(result, str):
        return result, "-"
    return (
        f"{result['wallSecs']:.1f} ({result['cpuSecs']:.1f})",
        f"{result['growthMiB']:.0f} ({result['perSessionKiB']:.1f})",
    )


def render(reports: list[FrameworkReport], floor_ms: float, counts: list[int]) -> str:
    """The markdown table; ratios are against flowai-harness."""
    ours = next((r for r in reports if r.name == "flowai-harness" and not r.refused), None)
    base = ours.steps["overheadStepMs"]["median"] if ours and ours.steps else None
    header = [
        "framework",
        "version",
        "step overhead ms median (min-max)",
        "vs ours",
        "first event ms",
        f"import ms (floor {floor_ms:.0f})",
    ]
    for count in counts:
        header += [
            f"{count:,} sessions wall s (CPU s)",
            f"{count:,} peak RSS growth MiB (KiB/session)",
        ]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for report in reports:
        if report.refused:
            rows.append(
                f"| {report.name} | {report.version} | refused: {'; '.join(report.refused)} |"
            )
            continue
        assert report.steps is not None
        over = report.steps["overheadStepMs"]
        ratio = f"{over['median'] / base:.1f}x" if base else "-"
        cells = [
            report.name,
            report.version,
            f"{over['median']:.3f} ({over['min']:.3f}-{over['max']:.3f})",
            ratio,
            f"{report.steps['firstEventMs']:.2f}",
            f"{report.import_ms:.0f}" if report.import_ms is not None else "-",
        ]
        for count in counts:
            cells += list(_sessions_cell(report.sessions.get(count)))
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", action="store_true", help="(re)install the peers' venv and exit")
    parser.add_argument("--quick", action="store_true", help="small sizes, no 10,000 sessions")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS), help="comma-separated subset")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per sessions phase")
    parser.add_argument("--import-runs", type=int, default=7, help="fresh interpreters per import")
    parser.add_argument("--json", metavar="PATH", help="also write every result to PATH")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.frameworks.split(",") if n.strip()]
    unknown = sorted(set(names) - set(FRAMEWORKS))
    if unknown:
        parser.error(f"unknown framework(s) {unknown}; choose from {sorted(FRAMEWORKS)}")
    args.names = names
    args.runs, args.repeats = (3, 3) if args.quick else (10, 7)
    args.sessions = [200] if args.quick else [1000, 10_000]
    if args.quick:
        args.import_runs = min(args.import_runs, 3)
    return args


def main(argv: list[str] | None = None) -> int:
    """Run every framework's phases and print the table; 1 when a framework was refused."""
    args = parse_args(argv)
    ensure_venv(force=args.setup)
    if args.setup:
        return 0
    started = time.perf_counter()
    reports: list[FrameworkReport] = []
    for name in args.names:
        try:
            reports.append(measure(name, args))
        except (PhaseFailed, subprocess.TimeoutExpired) as exc:
            reports.append(FrameworkReport(name, refused=[f"failed: {exc}"]))
    print("cold imports ...", file=sys.stderr)
    lines = {name: typical_import(FRAMEWORKS[name]) for name in args.names}
    imports = import_times({**lines, "pydantic floor": FLOOR_SCRIPT}, args.import_runs)
    for report in reports:
        report.import_ms = imports[report.name]
    info = machine()
    print(
        f"{info['date']}, {info['cpu']}, {info['cores']} cores, {info['ramGiB']} GiB RAM, "
        f"Python {info['python']}; total {time.perf_counter() - started:.0f} s"
    )
    print(render(reports, imports["pydantic floor"], args.sessions))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": info,
                    "floorImportMs": imports["pydantic floor"],
                    "imports": lines,
                    "frameworks": [report.__dict__ for report in reports],
                },
                indent=2,
                default=str,
            )
        )
    return 1 if any(report.refused for report in reports) else 0


if __name__ == "__main__":
    raise SystemExit(main())
