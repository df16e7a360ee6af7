"""Reading the ``--data-environment`` file shared by the ``data`` and ``mcp toolkit`` commands."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import click

__all__ = ["read_data_environment"]


def read_data_environment(path: Path) -> dict[str, Any]:
    """Read a data environment file: ``.json`` as JSON, ``.toml`` as TOML, else JSON then TOML.

    Args:
        path: The file named by ``--data-environment``.

    Returns:
        The parsed settings, not yet validated.

    Raises:
        click.ClickException: The file cannot be read, does not parse, or does not hold an
            object (exit 1); the message names the file and every format tried.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise click.ClickException(f"cannot read data environment {path}: {exc}") from None
    suffix = path.suffix.lower()
    kinds = ("json",) if suffix == ".json" else ("toml",) if suffix == ".toml" else ("json", "toml")
    parsed: Any = None
    problems: list[str] = []
    for kind in kinds:
        try:
            parsed = json.loads(text) if kind == "json" else tomllib.loads(text)
            break
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
            problems.append(f"not valid {kind.upper()} ({exc})")
    else:
        raise click.ClickException(f"data environment {path} is {' and '.join(problems)}")
    if not isinstance(parsed, dict):
        raise click.ClickException(
            f"data environment {path} must hold an object/table of settings; got "
            f"{type(parsed).__name__}"
        )
    return parsed
