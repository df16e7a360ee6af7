"""Plain-language text for spec validation errors: what is wrong and how to fix it.

pydantic's own text dumps the whole input and links its documentation on every line; a person
who misspelled a key needs neither. :func:`spec_validation_error` keeps the error a
``pydantic.ValidationError`` (``errors()`` is unchanged, so code reading it keeps working) and
replaces only its text: one line per problem naming where it is, what is wrong and, for an
unknown key, the closest valid key. No input value is echoed (data-environment inputs can hold
connection passwords); only the type name of a value of the wrong type.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from flowai_harness.errors import SpecValidationError

__all__ = ["closest", "describe_validation_error", "spec_validation_error"]

# What users call a model in their own code, where that differs from the class name.
_LABELS = {"DataEnvironment": "data_environment"}
# The quoted choices in pydantic's "Input should be 'a', 'b' or 'c'".
_QUOTED = re.compile(r"'([^']*)'")
# pydantic prefixes the message of a ValueError / AssertionError raised in a validator.
_PREFIXES = ("Value error, ", "Assertion failed, ")


def spec_validation_error(error: ValidationError, model: type[BaseModel]) -> SpecValidationError:
    """Return ``error`` as a :class:`SpecValidationError` with plain text (see module doc).

    Args:
        error: The error pydantic raised while validating ``model``.
        model: The model that was validated; its fields give the valid keys to suggest.

    Returns:
        The same problems, with ``str()`` replaced by :func:`describe_validation_error`.
    """
    if isinstance(error, SpecValidationError):
        return error
    return SpecValidationError.of(error, describe_validation_error(error, model))


def describe_validation_error(error: ValidationError, model: type[BaseModel]) -> str:
    """Return one plain line per problem of ``error``, under a header naming the spec.

    Args:
        error: A validation error of ``model``.
        model: The validated model.

    Returns:
        ``"<spec>.<where>: <problem>"`` for one problem; a header and one such line (``- ``)
        each for several.
    """
    label = _LABELS.get(error.title, error.title)
    problems = [
        ("", text) if text.startswith(label) else (where, text)  # the text names its place
        for where, text in dict.fromkeys(_problem(line, model) for line in error.errors())
    ]
    if len(problems) == 1:
        where, text = problems[0]
        if where:
            return f"{label}.{where}: {text}"
        return text if text.startswith(label) else f"{label}: {text}"
    listed = "\n".join(
        f"  - {label}.{where}: {text}" if where else f"  - {text}" for where, text in problems
    )
    return f"{label}: {len(problems)} problems:\n{listed}"


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate closest to ``word`` (a likely misspelling), or ``None``.

    Args:
        word: What was given.
        candidates: What would have been accepted.

    Returns:
        The best match above difflib's similarity cut-off of 0.6, compared without case; else
        a candidate the word starts with or that starts with the word (``kv_store`` -> ``kv``).
    """
    options = {candidate.lower(): candidate for candidate in candidates}
    lowered = word.lower()
    found = difflib.get_close_matches(lowered, list(options), n=1)
    if found:
        return options[found[0]]
    prefixes = [
        option
        for option in options
        if len(option) >= 2 and (lowered.startswith(option) or option.startswith(lowered))
    ]
    return options[max(prefixes, key=len)] if prefixes and len(lowered) >= 2 else None


def _problem(line: ErrorDetails, model: type[BaseModel]) -> tuple[str, str]:
    """``(where, what is wrong)`` of one error line; ``where`` is a dotted path or empty."""
    loc = tuple(line["loc"])
    kind = line["type"]
    if kind == "extra_forbidden" and loc:
        where = _path(model, loc[:-1])
        return where, _unknown_key(str(loc[-1]), _walk(model, loc[:-1]))
    if kind == "missing" and loc:
        name = _step(_walk(model, loc[:-1]), loc[-1])[1] or loc[-1]
        return _path(model, loc[:-1]), f"the required key '{name}' is missing"
    message = line["msg"]
    for prefix in _PREFIXES:
        if message.startswith(prefix):
            message = message[len(prefix) :]
    if kind.endswith(("_type", "_parsing")) and "input" in line:
        message = f"{message}; got {type(line['input']).__name__}"
    if kind in ("literal_error", "enum") and isinstance(line.get("input"), str):
        expected = str(line.get("ctx", {}).get("expected", ""))
        match = closest(line["input"], _QUOTED.findall(expected))
        if match is not None:
            message = f"{message}; did you mean '{match}'?"
    return _path(model, loc), message


def _unknown_key(key: str, parent: type[BaseModel] | None) -> str:
    if parent is None:
        return f"unknown key '{key}'; remove it"
    valid = _keys(parent)
    spelled = {spelling: name for name in valid for spelling in (name, to_camel(name))}
    if key in spelled:
        name = spelled[key]
        return f"'{name}' is given twice (as {name} and {to_camel(name)}); keep one spelling"
    text = f"unknown key '{key}'"
    match = closest(key, spelled)
    if match is not None:
        text += f"; did you mean '{spelled[match]}'?"
    return f"{text} (valid keys: {', '.join(valid)})"


def _keys(model: type[BaseModel]) -> list[str]:
    """The keys a model accepts, as users write them (snake_case, explicit aliases kept)."""
    keys = []
    for name, field in model.model_fields.items():
        explicit = field.alias if field.alias and field.alias != to_camel(name) else None
        keys.append(explicit or name)
    return keys


def _path(model: type[BaseModel], loc: Sequence[int | str]) -> str:
    """``a.b[0].c`` for a location: field names as users write them, union tags left out."""
    text = ""
    current: Any = model
    for segment in loc:
        current, shown = _step(current, segment)
        if isinstance(segment, int):
            text += f"[{segment}]"
        elif shown:
            text += f".{shown}" if text else shown
    return text


def _walk(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    current: Any = model
    for segment in loc:
        current, _shown = _step(current, segment)
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _step(current: Any, segment: int | str) -> tuple[Any, str | None]:
    """Where one location segment leads: (the type there, the segment as users write it, or
    ``None`` for a tag pydantic adds to say which member of a union it tried)."""
    current = _unwrap(current)
    shown = str(segment)
    members = _union_members(current)
    if members:
        for member in members:
            if segment in (*_tags(member), getattr(member, "__name__", None)):
                return member, None
        return None, shown
    if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(segment, str):
        for name, field in current.model_fields.items():
            if segment in (name, field.alias):
                explicit = field.alias if field.alias and field.alias != to_camel(name) else None
                return field.annotation, explicit or name
        return None, shown
    args = get_args(current)
    if isinstance(segment, int) and args:
        return args[0], shown
    if isinstance(segment, str) and get_origin(current) in (dict, Mapping) and len(args) == 2:
        return args[1], shown
    return None, shown


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    members = _union_members(annotation)
    others = [member for member in members if member is not type(None)]
    if members and len(others) == 1:
        return _unwrap(others[0])
    return annotation


def _union_members(annotation: Any) -> tuple[Any, ...]:
    if get_origin(annotation) in (Union, types.UnionType):
        return tuple(_unwrap_one(member) for member in get_args(annotation))
    return ()


def _unwrap_one(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _tags(member: Any) -> tuple[Any, ...]:
    """The literal values that select ``member`` in a tagged union (its ``kind``, ``type``)."""
    if not (isinstance(member, type) and issubclass(member, BaseModel)):
        return ()
    tags: tuple[Any, ...] = ()
    for field in member.model_fields.values():
        if get_origin(field.annotation) is Literal:
            tags += get_args(field.annotation)
    return tags
