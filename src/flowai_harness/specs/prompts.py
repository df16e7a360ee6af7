"""Layered system prompts: :func:`layered_prompt` and :func:`augment_prompt_tools`.

A layered prompt is Markdown made of up to eight ``# <Heading>`` sections in a fixed order.
Its ``cache_key`` is the SHA-256 of the text, a change fingerprint only. The runtime later adds
rows for the tools an agent really has to the ``# Tools`` table with
:func:`augment_prompt_tools`, which is idempotent.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs.tools import ToolSpec

__all__ = ["LayeredPrompt", "augment_prompt_tools", "layered_prompt"]

_TABLE_HEADER = "| Tool | Description | Approval |"
_TABLE_SEPARATOR = "| --- | --- | --- |"
# Tools go right after the last of these sections when a prompt has no Tools section yet.
_SECTIONS_BEFORE_TOOLS = ("identity", "communication", "operational rules")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_SEPARATOR_CELL = re.compile(r":?-+:?")

_ToolRow = tuple[str, str, str]


@dataclass(frozen=True)
class LayeredPrompt:
    """A rendered system prompt and its fingerprint.

    Attributes:
        text: The prompt text.
        cache_key: Hex SHA-256 of ``text``.
    """

    text: str
    cache_key: str

    @classmethod
    def from_text(cls, text: str) -> LayeredPrompt:
        """Wrap ``text`` with its computed cache key.

        Args:
            text: The prompt text.

        Returns:
            ``LayeredPrompt(text, sha256(text).hexdigest())``.
        """
        return cls(text, hashlib.sha256(text.encode("utf-8")).hexdigest())

    def __str__(self) -> str:
        return self.text


def layered_prompt(
    *,
    identity: Any,
    communication: Any = None,
    operational_rules: Any = None,
    tools: Any = None,
    domain_knowledge: Any = None,
    safety: Any = None,
    output_format: Any = None,
    examples: Any = None,
) -> LayeredPrompt:
    """Render a system prompt from layered sections.

    Sections appear in this order, each as ``# <Heading>`` followed by its body, joined with a
    blank line; sections with an empty body are left out: Identity, Communication, Operational
    Rules, Tools, Domain Knowledge, Safety, Output Format, Examples.

    Args:
        identity: Text section (required): a string (stripped) or a sequence of strings
            (one ``- item`` line each).
        communication: Text section.
        operational_rules: Text section.
        tools: Iterable of ``ToolSpec``, mappings with ``name``/``description``/``approval``,
            or tool names; rendered as a ``| Tool | Description | Approval |`` table sorted by
            name, the first occurrence of a name winning.
        domain_knowledge: Structured section: a string (stripped) or JSON-like data rendered
            as a fenced ``json`` block (sorted keys, indent 2, non-ASCII kept).
        safety: Text section.
        output_format: Structured section.
        examples: Structured section.

    Returns:
        The :class:`LayeredPrompt`.

    Raises:
        SpecTypeError: a section has an unsupported type, a structured value contains a
            non-finite float, a non-string mapping key or an unsupported object, or a tool row
            is malformed.
        SpecValueError: a tool row has an empty name.
    """
    sections = (
        ("Identity", _text_body(identity, "identity")),
        ("Communication", _optional(communication, "communication", _text_body)),
        ("Operational Rules", _optional(operational_rules, "operational_rules", _text_body)),
        ("Tools", "" if tools is None else _render_table(_collect_rows(tools))),
        ("Domain Knowledge", _optional(domain_knowledge, "domain_knowledge", _structured_body)),
        ("Safety", _optional(safety, "safety", _text_body)),
        ("Output Format", _optional(output_format, "output_format", _structured_body)),
        ("Examples", _optional(examples, "examples", _structured_body)),
    )
    text = "\n\n".join(f"# {heading}\n{body}" for heading, body in sections if body)
    return LayeredPrompt.from_text(text)


def augment_prompt_tools(text: str | LayeredPrompt, tools: Iterable[Any]) -> LayeredPrompt:
    """Add tool rows to a prompt's ``# Tools`` table.

    Rows already in the table win over new rows with the same name; the merged table is sorted
    by name. Without a Tools section, one is inserted right after the last present of
    Identity / Communication / Operational Rules, before the first heading when none of those
    is present, or appended when the text has no ``# `` headings at all. Augmenting twice with
    the same rows gives the same text.

    Args:
        text: The prompt text (a :class:`LayeredPrompt` is accepted too).
        tools: Iterable of ``ToolSpec``, mappings with ``name``/``description``/``approval``,
            or tool names.

    Returns:
        The new :class:`LayeredPrompt` with its cache key recomputed.

    Raises:
        SpecTypeError: ``text`` is not a string, or ``tools`` / a row is malformed.
        SpecValueError: a tool row has an empty name.
    """
    if isinstance(text, LayeredPrompt):
        text = text.text
    if not isinstance(text, str):
        raise SpecTypeError(f"text must be a string, got {type(text).__name__}")
    rows = _collect_rows(tools)
    if not rows:
        return LayeredPrompt.from_text(text)
    lines = text.split("\n")
    headings = _find_headings(lines)
    tools_heading = next((i for i, title in headings if title.lower() == "tools"), None)
    if tools_heading is not None:
        section_end = next((i for i, _ in headings if i > tools_heading), len(lines))
        lines = _merge_into_section(lines, tools_heading, section_end, rows)
    else:
        lines = _insert_section(text, lines, headings, rows)
    return LayeredPrompt.from_text("\n".join(lines))


# -- text and structured sections ---------------------------------------------------------------


def _optional(value: Any, field: str, render: Callable[[Any, str], str]) -> str:
    return "" if value is None else render(value, field)


def _text_body(value: Any, field: str) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        items = list(value)
        if all(isinstance(item, str) for item in items):
            return "\n".join(f"- {item.strip()}" for item in items if item.strip())
        bad = next(item for item in items if not isinstance(item, str))
        raise SpecTypeError(
            f"{field} must be a string or a sequence of strings; "
            f"got an item of type {type(bad).__name__}: {bad!r}"
        )
    raise SpecTypeError(
        f"{field} must be a string or a sequence of strings; got {type(value).__name__}"
    )


def _structured_body(value: Any, field: str) -> str:
    if isinstance(value, str):
        return value.strip()
    normalized = _json_ready(value, field)
    dumped = json.dumps(normalized, sort_keys=True, indent=2, ensure_ascii=False)
    return f"```json\n{dumped}\n```"


def _json_ready(value: Any, path: str) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SpecTypeError(
                f"{path} is a non-finite float ({value!r}); JSON only holds finite numbers"
            )
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):  # datetime is a date subclass
        return value.isoformat()
    if isinstance(value, BaseModel):
        return _json_ready(value.model_dump(mode="json", by_alias=True), path)
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise SpecTypeError(
                    f"{path} has a mapping key of type {type(key).__name__} ({key!r}); "
                    "mapping keys must be strings"
                )
            result[key] = _json_ready(item, f"{path}[{key!r}]")
        return result
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [_json_ready(item, f"{path}[{index}]") for index, item in enumerate(value)]
    raise SpecTypeError(
        f"{path} has an unsupported value of type {type(value).__name__}; expected str, int, "
        "float, bool, None, Decimal, date/datetime, a pydantic model, a mapping or a sequence"
    )


# -- tool rows ----------------------------------------------------------------------------------


def _collect_rows(tools: Any) -> list[_ToolRow]:
    """Return ``(name, description, approval)`` rows, first occurrence of a name winning."""
    if isinstance(tools, str | bytes | Mapping | BaseModel) or not isinstance(tools, Iterable):
        raise SpecTypeError(
            "tools must be an iterable of ToolSpec, mappings with 'name', 'description' and "
            f"'approval', or tool names; got {type(tools).__name__}"
        )
    rows: dict[str, _ToolRow] = {}
    for index, tool in enumerate(tools):
        row = _tool_row(tool, f"tools[{index}]")
        rows.setdefault(row[0], row)
    return list(rows.values())


def _tool_row(tool: Any, where: str) -> _ToolRow:
    if isinstance(tool, ToolSpec):
        return _checked_row(tool.name, tool.description, tool.approval.get("kind", ""), where)
    if isinstance(tool, str):
        return _checked_row(tool, "", "", where)
    if isinstance(tool, Mapping):
        name = tool.get("name")
        if not isinstance(name, str):
            raise SpecTypeError(f"{where} needs a string 'name', got {name!r}")
        description = tool.get("description") or ""
        if not isinstance(description, str):
            raise SpecTypeError(
                f"{where}.description must be a string, got {type(description).__name__}"
            )
        return _checked_row(name, description, _approval_label(tool.get("approval"), where), where)
    raise SpecTypeError(
        f"{where} must be a ToolSpec, a mapping with 'name', 'description' and 'approval', or a "
        f"tool name; got {type(tool).__name__}"
    )


def _approval_label(approval: Any, where: str) -> str:
    if approval is None:
        return ""
    if isinstance(approval, str):
        return approval
    if isinstance(approval, Mapping):
        return str(approval.get("kind", ""))
    raise SpecTypeError(
        f"{where}.approval must be a string or a rule mapping with 'kind', "
        f"got {type(approval).__name__}"
    )


def _checked_row(name: str, description: str, approval: str, where: str) -> _ToolRow:
    row = (_one_line(name), _one_line(description), _one_line(approval))
    if not row[0]:
        raise SpecValueError(f"{where} has an empty tool name")
    return row


def _one_line(text: str) -> str:
    return text.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").strip()


def _render_row(row: _ToolRow) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"


def _render_table(rows: list[_ToolRow]) -> str:
    if not rows:
        return ""
    body = [_render_row(row) for row in sorted(rows, key=lambda row: row[0])]
    return "\n".join([_TABLE_HEADER, _TABLE_SEPARATOR, *body])


def _split_row(line: str) -> list[str]:
    inner = line.strip()
    if inner.startswith("|"):
        inner = inner[1:]
    if inner.endswith("|") and not inner.endswith("\\|"):
        inner = inner[:-1]
    return [cell.strip().replace("\\|", "|") for cell in _UNESCAPED_PIPE.split(inner)]


def _row_name(line: str) -> str:
    return _split_row(line)[0]


def _is_separator(line: str) -> bool:
    cells = _split_row(line)
    return all(_SEPARATOR_CELL.fullmatch(cell) for cell in cells)


# -- locating and editing sections --------------------------------------------------------------


def _find_headings(lines: list[str]) -> list[tuple[int, str]]:
    """Return ``(line index, title)`` of every ``# `` heading outside fenced code blocks."""
    fences = [i for i, line in enumerate(lines) if line.lstrip().startswith("```")]
    if len(fences) % 2:
        # An unclosed fence is treated as text, so content appended after it stays visible.
        fences.pop()
    fenced: set[int] = set()
    for start, end in zip(fences[::2], fences[1::2], strict=True):
        fenced.update(range(start, end + 1))
    return [
        (i, line[2:].strip())
        for i, line in enumerate(lines)
        if line.startswith("# ") and i not in fenced
    ]


def _merge_into_section(
    lines: list[str], heading: int, end: int, rows: list[_ToolRow]
) -> list[str]:
    table_start = next(
        (i for i in range(heading + 1, end) if lines[i].lstrip().startswith("|")), None
    )
    if table_start is None:
        last_text = max((i for i in range(heading + 1, end) if lines[i].strip()), default=heading)
        gap = [""] if last_text > heading else []
        table = _render_table(rows).split("\n")
        return [*lines[: last_text + 1], *gap, *table, *lines[last_text + 1 :]]
    table_end = table_start
    while table_end < end and lines[table_end].lstrip().startswith("|"):
        table_end += 1
    header = lines[table_start]
    data_start = table_start + 1
    separator = _TABLE_SEPARATOR
    if data_start < table_end and _is_separator(lines[data_start]):
        separator = lines[data_start]
        data_start += 1
    kept: dict[str, str] = {}
    for line in lines[data_start:table_end]:
        kept.setdefault(_row_name(line), line)
    for row in rows:
        kept.setdefault(row[0], _render_row(row))
    data = [kept[name] for name in sorted(kept)]
    return [*lines[:table_start], header, separator, *data, *lines[table_end:]]


def _insert_section(
    text: str, lines: list[str], headings: list[tuple[int, str]], rows: list[_ToolRow]
) -> list[str]:
    section = ["# Tools", *_render_table(rows).split("\n")]
    if not text.strip():
        return section
    anchors = [i for i, title in headings if title.lower() in _SECTIONS_BEFORE_TOOLS]
    if headings and anchors:
        at = next((i for i, _ in headings if i > anchors[-1]), len(lines))
    elif headings:
        at = headings[0][0]
    else:
        at = len(lines)
    if at < len(lines):
        gap = [""] if at > 0 and lines[at - 1].strip() else []
        return [*lines[:at], *gap, *section, "", *lines[at:]]
    # Appending at the end: one blank line before the section, original trailing newline kept.
    body = list(lines)
    while body and not body[-1].strip():
        body.pop()
    return [*body, "", *section, *([""] if text.endswith("\n") else [])]
