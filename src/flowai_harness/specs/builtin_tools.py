"""Definitions of the built-in tools, as pure data.

One source of truth for the tools the runtime provides itself (hand-off, plans, references,
catalog): their toolkit, the one-line description rendered into agent prompts, and the JSON
input schema given to models. Also the rules deciding which of them an agent sees: role
defaults, ``plans`` role scoping and ``{"tools": [...]}`` narrowing.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from flowai_harness.errors import SpecValueError

__all__ = [
    "BUILTIN_TOOLKITS",
    "BUILTIN_TOOLS",
    "CATALOG_KINDS",
    "BuiltinTool",
    "ToolkitConfig",
    "parse_toolkit_config",
    "role_default_tools",
    "toolkit_tools_for_role",
]


@dataclass(frozen=True)
class BuiltinTool:
    """A tool implemented by the runtime.

    Attributes:
        name: Tool name as the model sees it.
        toolkit: Id of the toolkit that provides it.
        description: One-line description for models and prompt tables.
        input_schema: JSON Schema of the arguments (treat as read-only).
    """

    name: str
    toolkit: str
    description: str
    input_schema: dict[str, Any]

    def prompt_row(self) -> dict[str, str]:
        """Return the prompt tool-table row of this tool (approval label ``runtime``).

        Returns:
            ``{"name", "description", "approval": "runtime"}``.
        """
        return {"name": self.name, "description": self.description, "approval": "runtime"}


#: Public catalog entity kinds (``special`` is reserved and never searchable).
CATALOG_KINDS = (
    "table",
    "column",
    "relationship",
    "enum_value",
    "metric",
    "document",
    "knowledge",
    "data_quality_finding",
)


def _string(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def _object(
    properties: dict[str, Any], required: Sequence[str], *, strict: bool = False
) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": list(required),
    }
    if strict:
        schema["additionalProperties"] = False
    return schema


def _clamped_int(description: str, default: int) -> dict[str, Any]:
    # Out-of-range values are clamped by the handlers, not rejected, so the bounds live in
    # the description rather than as minimum/maximum.
    return {"type": "integer", "default": default, "description": description}


def _ref_array(description: str, max_items: int) -> dict[str, Any]:
    return {
        "type": "array",
        "items": _CATALOG_REF,
        "minItems": 1,
        "maxItems": max_items,
        "description": description,
    }


_CATALOG_REF: dict[str, Any] = {
    "type": "object",
    "description": (
        "Exact reference to a catalog entity: exactly one of id, qualified_name or name "
        "(name also needs kind)."
    ),
    "properties": {
        "id": _string("Entity id as returned by the catalog tools."),
        "qualified_name": _string("Qualified name, e.g. 'sales.orders' or 'sales.orders.status'."),
        "name": _string("Exact entity name; requires kind."),
        "kind": {"type": "string", "enum": list(CATALOG_KINDS), "description": "Entity kind."},
    },
    "additionalProperties": False,
}

_CATALOG_FILTER_REF: dict[str, Any] = {
    "anyOf": [
        _string(
            "An entity id (64 hex chars or a 'table:'/'column:'/... prefix), a qualified name "
            "(contains '.'), or a name."
        ),
        _CATALOG_REF,
    ]
}

_CATALOG_FILTERS: dict[str, Any] = {
    "type": "object",
    "description": (
        "Optional filters, compared case-insensitively; a filter a kind cannot carry excludes "
        "that kind."
    ),
    "properties": {
        "database_id": _string("Database id."),
        "schema": _string("Schema name."),
        "table": _CATALOG_FILTER_REF,
        "column": _CATALOG_FILTER_REF,
        "data_type": _string("Column data type."),
        "semantic_type": _string("Column semantic type."),
        "tags": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Tags; an entity must carry all of them.",
        },
        "knowledge_type": _string("Knowledge item type."),
        "relation_kind": _string("Relation kind, e.g. 'references'."),
        "source_table": _CATALOG_FILTER_REF,
        "source_column": _CATALOG_FILTER_REF,
        "target_table": _CATALOG_FILTER_REF,
        "target_column": _CATALOG_FILTER_REF,
        "preferred_query_surface": {
            "type": "boolean",
            "description": "Only tables marked as preferred query surfaces.",
        },
        "low_cardinality_enum": {
            "type": "boolean",
            "description": "Only columns holding a low-cardinality enumeration.",
        },
    },
    "additionalProperties": False,
}

_KIND_LIST: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string", "enum": list(CATALOG_KINDS)},
}


def _tool(name: str, toolkit: str, description: str, schema: dict[str, Any]) -> BuiltinTool:
    # Schemas share fragments (refs, filters); each tool gets its own copy.
    return BuiltinTool(
        name=name, toolkit=toolkit, description=description, input_schema=copy.deepcopy(schema)
    )


_PLAN_ID = _string("Id of the plan.")
_REF_KIND = _string("Reference kind (the reference spec name).")
_REF_ID = _string("Reference id as returned when the reference was created.")

_DEFINITIONS = (
    _tool(
        "call_agent",
        "agents",
        "Hand a task to another agent in your routes and return its final answer.",
        _object(
            {
                "agent": _string("Name of the agent to call; must be one of your routes."),
                "prompt": _string("Complete, self-contained instructions for that agent."),
            },
            ["agent", "prompt"],
        ),
    ),
    _tool(
        "storePlan",
        "plans",
        "Store a draft plan under planId after validating its body against the named plan spec.",
        _object(
            {
                "specName": _string("Name of the plan spec the body follows."),
                "planId": _string("Id to store the plan under; reusing an id replaces that plan."),
                "body": {
                    "type": "object",
                    "description": (
                        "The plan body; must validate against the plan spec's schema and hold a "
                        "non-empty 'actions' array of objects with a string 'kind'."
                    ),
                },
            },
            ["specName", "planId", "body"],
        ),
    ),
    _tool(
        "getPlan",
        "plans",
        "Fetch a stored plan (status, actions, outcome) by id; returns null if there is none.",
        _object({"planId": _PLAN_ID}, ["planId"]),
    ),
    _tool(
        "executePlan",
        "plans",
        "Execute a stored plan: waits for approval when required, then dispatches its actions.",
        _object({"planId": _PLAN_ID}, ["planId"]),
    ),
    _tool(
        "resolveRef",
        "references",
        "Resolve a reference handle {kind, id} to its full stored value and glimpse.",
        _object({"kind": _REF_KIND, "id": _REF_ID}, ["kind", "id"]),
    ),
    _tool(
        "glimpseRef",
        "references",
        "Return only the short glimpse (summary) of a reference handle {kind, id}.",
        _object({"kind": _REF_KIND, "id": _REF_ID}, ["kind", "id"]),
    ),
    _tool(
        "search_catalog",
        "catalog",
        "Search the data catalog (tables, columns, metrics, knowledge, documents) by keywords.",
        _object(
            {
                "query": {"type": "string", "minLength": 1, "description": "Search keywords."},
                "kinds": {**_KIND_LIST, "description": "Only return entities of these kinds."},
                "filters": _CATALOG_FILTERS,
                "limit": _clamped_int(
                    "Results per page, 1-50 (default 10); a page holds at most 20.", 10
                ),
                "cursor": _string("Cursor from a previous page's pagination.next_cursor."),
            },
            ["query"],
            strict=True,
        ),
    ),
    _tool(
        "get_catalog_entities",
        "catalog",
        "Fetch catalog entities by exact reference; up to 5 refs get full details.",
        _object(
            {"refs": _ref_array("Entities to fetch (1-50).", 50)},
            ["refs"],
            strict=True,
        ),
    ),
    _tool(
        "list_schema_fields",
        "catalog",
        "List the columns of catalog tables, optionally filtered.",
        _object(
            {
                "tables": _ref_array("Tables to list (1-10).", 10),
                "filters": _CATALOG_FILTERS,
                "limit_per_table": _clamped_int("Columns per table, 1-200 (default 200).", 200),
            },
            ["tables"],
            strict=True,
        ),
    ),
    _tool(
        "get_catalog_relations",
        "catalog",
        "List the relations (keys, columns, enums, metrics, knowledge links) of catalog entities.",
        _object(
            {
                "refs": _ref_array("Entities whose relations to list (1-20).", 20),
                "direction": {
                    "type": "string",
                    "enum": ["outgoing", "incoming", "both"],
                    "default": "both",
                    "description": "Which relations to follow (default both).",
                },
                "relation_kinds": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Only these relation kinds, e.g. 'references', 'has_column'.",
                },
                "target_kinds": {**_KIND_LIST, "description": "Only relations to these kinds."},
                "limit_per_ref": _clamped_int("Relations per entity, 1-100 (default 25).", 25),
            },
            ["refs"],
            strict=True,
        ),
    ),
    _tool(
        "get_relation_paths_between",
        "catalog",
        "Find join (foreign-key) or semantic paths from one catalog entity to others.",
        _object(
            {
                "from": _CATALOG_REF,
                "to": _ref_array("Target entities (1-20).", 20),
                "path_type": {
                    "type": "string",
                    "enum": ["join", "semantic", "any"],
                    "default": "any",
                    "description": "join: stored FK paths; semantic: catalog links; any: both.",
                },
                "max_depth": _clamped_int("Maximum path length, 1-6 (default 6).", 6),
            },
            ["from", "to"],
            strict=True,
        ),
    ),
    _tool(
        "sample_table_data",
        "catalog",
        "Return a few sample rows of a catalog table.",
        _object(
            {
                "table": _CATALOG_REF,
                "columns": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "Columns to return; defaults to the catalog's known columns.",
                },
                "limit": _clamped_int("Rows to return, 1-20 (default 10).", 10),
            },
            ["table"],
            strict=True,
        ),
    ),
    _tool(
        "execute_query",
        "catalog",
        "Run one read-only SQL SELECT on the target database and return the rows.",
        _object(
            {
                "sql": _string("A single SELECT statement (no writes, no multiple statements)."),
                "params": {"type": "array", "description": "Positional query parameters."},
                "limit": _clamped_int("Maximum rows, 1-1000 (default 100).", 100),
                "purpose": _string("Why the query is run (logged)."),
            },
            ["sql"],
            strict=True,
        ),
    ),
)

#: Every built-in tool by name.
BUILTIN_TOOLS: Mapping[str, BuiltinTool] = MappingProxyType(
    {tool.name: tool for tool in _DEFINITIONS}
)


def _group_by_toolkit() -> dict[str, tuple[str, ...]]:
    grouped: dict[str, list[str]] = {}
    for tool in _DEFINITIONS:
        grouped.setdefault(tool.toolkit, []).append(tool.name)
    return {toolkit: tuple(names) for toolkit, names in grouped.items()}


#: Tool names of every built-in toolkit, in definition order.
BUILTIN_TOOLKITS: Mapping[str, tuple[str, ...]] = MappingProxyType(_group_by_toolkit())

_ROLE_DEFAULTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "planner": ("storePlan", "getPlan"),
        "executor": ("getPlan", "executePlan", "resolveRef", "glimpseRef"),
    }
)
_PLAN_TOOLS_BY_ROLE: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"planner": ("storePlan", "getPlan"), "executor": ("getPlan", "executePlan")}
)
_OTHER_ROLE_PLAN_TOOLS = ("getPlan",)


def role_default_tools(role: str, *, has_routes: bool) -> tuple[str, ...]:
    """Return the built-in tools an agent gets from its role alone.

    Args:
        role: ``coordinator``, ``planner``, ``executor`` or ``specialist``.
        has_routes: Whether the agent has at least one route.

    Returns:
        ``("call_agent",)`` for a coordinator with routes; ``("storePlan", "getPlan")`` for a
        planner; ``("getPlan", "executePlan", "resolveRef", "glimpseRef")`` for an executor;
        ``()`` otherwise.
    """
    if role == "coordinator":
        return ("call_agent",) if has_routes else ()
    return _ROLE_DEFAULTS.get(role, ())


@dataclass(frozen=True)
class ToolkitConfig:
    """A parsed toolkit ``config``.

    Attributes:
        tools: Narrowing list of tool names (``None``: the whole toolkit).
        expose_diagnostics: The ``exposeDiagnostics`` flag (default ``False``).
    """

    tools: tuple[str, ...] | None = None
    expose_diagnostics: bool = False


_CONFIG_SHAPE = (
    "expected null or an object with optional 'tools' (a list of tool names) and "
    "'exposeDiagnostics' (a bool)"
)


def parse_toolkit_config(toolkit_id: str, config: Any) -> ToolkitConfig:
    """Parse and check the ``config`` of a built-in toolkit.

    Args:
        toolkit_id: Id of the toolkit the config belongs to (used in messages).
        config: ``None`` or a mapping with optional ``tools`` and ``exposeDiagnostics``
            (``expose_diagnostics`` is accepted too).

    Returns:
        The :class:`ToolkitConfig`.

    Raises:
        SpecValueError: the config is malformed.
    """
    if config is None:
        return ToolkitConfig()
    prefix = f"toolkit {toolkit_id!r} config is malformed"
    if not isinstance(config, Mapping):
        raise SpecValueError(f"{prefix}: {_CONFIG_SHAPE}; got {type(config).__name__}")
    unknown = sorted(
        str(key)
        for key in config
        if key not in ("tools", "exposeDiagnostics", "expose_diagnostics")
    )
    if unknown:
        raise SpecValueError(f"{prefix}: unknown key(s) {unknown}; {_CONFIG_SHAPE}")
    tools = config.get("tools")
    if tools is not None and (
        isinstance(tools, str)
        or not isinstance(tools, Sequence)
        or not all(isinstance(name, str) for name in tools)
    ):
        raise SpecValueError(f"{prefix}: 'tools' must be a list of tool names, got {tools!r}")
    expose = config.get("exposeDiagnostics", config.get("expose_diagnostics", False))
    if expose is None:
        expose = False
    if not isinstance(expose, bool):
        raise SpecValueError(f"{prefix}: 'exposeDiagnostics' must be a bool, got {expose!r}")
    narrowed = None if tools is None else tuple(dict.fromkeys(tools))
    return ToolkitConfig(tools=narrowed, expose_diagnostics=expose)


def toolkit_tools_for_role(toolkit_id: str, *, role: str, config: Any = None) -> tuple[str, ...]:
    """Return the tools of a built-in toolkit visible to an agent with ``role``.

    ``plans`` is scoped by role (planner: storePlan, getPlan; executor: getPlan, executePlan;
    other roles: getPlan); ``config={"tools": [...]}`` narrows any toolkit.

    Args:
        toolkit_id: ``agents``, ``plans``, ``references`` or ``catalog``.
        role: The agent role.
        config: The toolkit config (see :func:`parse_toolkit_config`).

    Returns:
        Tool names in the toolkit's definition order.

    Raises:
        SpecValueError: unknown toolkit id, malformed config, a narrowing name the toolkit does
            not have, or a ``plans`` narrowing naming a tool outside the role's set.
    """
    names = BUILTIN_TOOLKITS.get(toolkit_id)
    if names is None:
        raise SpecValueError(
            f"unknown toolkit id {toolkit_id!r}; expected one of: {', '.join(BUILTIN_TOOLKITS)}"
        )
    narrowing = parse_toolkit_config(toolkit_id, config).tools
    for name in narrowing or ():
        if name not in names:
            raise SpecValueError(
                f"toolkit {toolkit_id!r} has no tool named {name!r}; "
                f"expected one of: {', '.join(names)}"
            )
    allowed = names
    if toolkit_id == "plans":
        allowed = _PLAN_TOOLS_BY_ROLE.get(role, _OTHER_ROLE_PLAN_TOOLS)
        forbidden = [name for name in narrowing or () if name not in allowed]
        if forbidden:
            raise SpecValueError(
                "toolkit 'plans' tools are scoped by agent role: "
                f"{', '.join(forbidden)} not available for {role} agents "
                f"(allowed: {', '.join(allowed)})"
            )
    return tuple(
        name for name in names if name in allowed and (narrowing is None or name in narrowing)
    )
