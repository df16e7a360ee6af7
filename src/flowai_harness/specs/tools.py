"""Python tools: the :class:`ToolSpec` model and :func:`define_tool`.

A tool spec is data (name, description, schemas, approval rule, binding id) plus two py-only
callables: the ``handler`` that runs the tool and, when the approval rule was given as a
callable, the ``approval_handler`` predicate registered under the rule's dynamic id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator

from flowai_harness.errors import SpecTypeError
from flowai_harness.specs._wire import WireModel
from flowai_harness.specs.approvals import normalize_approval_rule
from flowai_harness.specs.schema import normalize_schema

__all__ = ["TOOL_NAME_PATTERN", "ToolSpec", "define_tool"]

#: Tool names every supported model provider accepts.
TOOL_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class ToolSpec(WireModel):
    """A Python tool the model can call.

    Wire form (``to_wire()``): ``{"name", "description", "inputSchema", "approval",
    "outputSchema", "bindingId"}``; ``handler`` and ``approval_handler`` are py-only.
    The spec is callable: ``@spec`` on a function returns a copy with that handler bound.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    description: str = ""
    input_schema: dict[str, Any]
    approval: dict[str, str] = Field(default_factory=lambda: {"kind": "never"})
    output_schema: dict[str, Any] | None = None
    binding_id: str | None = None
    handler: Callable[..., Any] | None = Field(default=None, exclude=True)
    approval_handler: Callable[..., Any] | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _split_callable_approval(cls, data: Any) -> Any:
        # A callable approval becomes a dynamic rule; this needs the name and binding id, so it
        # runs on the raw input before field validation.
        if not isinstance(data, Mapping):
            return data
        approval = data.get("approval")
        if approval is None or isinstance(approval, str | Mapping) or not callable(approval):
            return data
        name = data.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError(
                "a callable approval needs a non-empty tool name to derive its predicate id "
                f"('<name>_approval'), got name {name!r}"
            )
        binding_id = data.get("binding_id", data.get("bindingId"))
        converted = {key: value for key, value in data.items() if key != "approvalHandler"}
        converted["approval"] = {"kind": "dynamic", "value": binding_id or f"{name}_approval"}
        converted["approval_handler"] = approval
        return converted

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        if not name:
            raise ValueError("tool name must be a non-empty string")
        if not TOOL_NAME_PATTERN.fullmatch(name):
            raise ValueError(
                f"tool name {name!r} is not usable as a model tool name: use 1 to 64 letters, "
                "digits, '_' or '-' (pattern ^[A-Za-z0-9_-]{1,64}$)"
            )
        return name

    @field_validator("input_schema", mode="before")
    @classmethod
    def _normalize_input_schema(cls, schema: Any) -> dict[str, Any]:
        return normalize_schema(schema)

    @field_validator("output_schema", mode="before")
    @classmethod
    def _normalize_output_schema(cls, schema: Any) -> dict[str, Any] | None:
        return None if schema is None else normalize_schema(schema)

    @field_validator("approval", mode="before")
    @classmethod
    def _normalize_approval(cls, approval: Any, info: ValidationInfo) -> dict[str, str]:
        name = info.data.get("name")
        field = f"approval of tool {name!r}" if name else "approval"
        return normalize_approval_rule(approval, field=field)

    @property
    def binding_key(self) -> str:
        """The key the runtime binds this tool under: ``binding_id or name``."""
        return self.binding_id or self.name

    def bind(self, handler: Callable[..., Any]) -> ToolSpec:
        """Return a copy of this spec carrying ``handler``; ``approval_handler`` is kept.

        Args:
            handler: ``handler(args: dict, ctx) -> JSON-able`` (sync or async).

        Returns:
            A new frozen :class:`ToolSpec`.

        Raises:
            SpecTypeError: ``handler`` is not callable.
        """
        if not callable(handler):
            raise SpecTypeError(
                f"handler for tool {self.name!r} must be callable, got {type(handler).__name__}"
            )
        return self.model_copy(update={"handler": handler})

    def __call__(self, handler: Callable[..., Any]) -> ToolSpec:
        """Bind ``handler`` (decorator form of :meth:`bind`).

        Args:
            handler: The function implementing the tool.

        Returns:
            A new frozen :class:`ToolSpec` carrying ``handler``.

        Raises:
            SpecTypeError: ``handler`` is not callable.
        """
        return self.bind(handler)


def define_tool(
    name: str,
    input_schema: Any,
    description: str = "",
    approval: Any = "never",
    output_schema: Any = None,
    binding_id: str | None = None,
) -> ToolSpec:
    """Define a Python tool.

    Args:
        name: Tool name shown to the model (1 to 64 of ``[A-Za-z0-9_-]``).
        input_schema: Any schema input accepted by ``normalize_schema`` (JSON Schema dict,
            type map, pydantic model class, type hint).
        description: One-line description shown to the model and in the prompt's tool table.
        approval: ``"never"``, ``"always"``, a rule mapping, or a predicate
            ``(args, ctx) -> bool``; a predicate becomes the dynamic rule
            ``binding_id or f"{name}_approval"`` and is kept as ``approval_handler``.
        output_schema: Optional schema of the result, normalised like ``input_schema``.
        binding_id: Key the runtime binds the tool under (defaults to ``name``).

    Returns:
        The unbound :class:`ToolSpec`; bind a handler with ``spec.bind(fn)`` or ``@spec``.

    Raises:
        pydantic.ValidationError: invalid name, approval rule or field types.
        TypeError: a schema input ``normalize_schema`` cannot convert.
    """
    return ToolSpec(
        name=name,
        input_schema=input_schema,
        description=description,
        approval=approval,
        output_schema=output_schema,
        binding_id=binding_id,
    )
