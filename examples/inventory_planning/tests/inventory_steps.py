"""Running the README's command block: the commands, their environment, their results."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1]
SRC = EXAMPLE / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

from inventory_planning.workdir import WorkDir  # noqa: E402  (needs SRC on the path)


@dataclass(frozen=True)
class StepRun:
    """One README command and what it printed."""

    command: str
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Prepared:
    """The prepared working directory and the README steps that built it."""

    workdir: WorkDir
    steps: list[StepRun]


def readme_commands() -> list[str]:
    """The commands of the README's first bash block (continuation lines joined)."""
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", readme, flags=re.S)
    assert block is not None, "README has no bash block"
    text = block.group(1).replace("\\\n", " ")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def offline_env() -> dict[str, str]:
    """The environment for subprocesses: no API keys, the example's sources on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    return env


def to_argv(command: str, workdir: Path) -> list[str]:
    """The argument vector for one README command, run from this environment's venv."""
    argv = [arg.replace(".inventory", str(workdir)) for arg in shlex.split(command)]
    if argv[0] == "python":
        return [sys.executable, *argv[1:]]
    if argv[0] == "flowai-harness":
        script = Path(sys.executable).with_name("flowai-harness")
        head = [str(script)] if script.exists() else [sys.executable, "-m", "flowai_harness.cli"]
        return [*head, *argv[1:]]
    raise AssertionError(f"unexpected README command: {command}")


def run_step(command: str, workdir: Path) -> StepRun:
    """Run one README command from the example directory."""
    result = subprocess.run(
        to_argv(command, workdir),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=EXAMPLE,
        env=offline_env(),
    )
    return StepRun(command, result.returncode, result.stdout, result.stderr)
