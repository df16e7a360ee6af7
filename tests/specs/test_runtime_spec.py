from __future__ import annotations

import hashlib
from typing import Any, get_type_hints

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs import runtime as runtime_module
from flowai_harness.specs.agents import (
    AgentSpec,
    define_coordinator,
    define_executor,
    define_planner,
    define_specialist,
)
from flowai_harness.specs.approvals import (
    ApprovalOverrides,
    ApprovalPolicies,
    ApprovalPolicyPatch,
)
from flowai_harness.specs.builtin_tools import BUILTIN_TOOLS
from flowai_harness.specs.plans import define_plan
from flowai_harness.specs.prompts import layered_prompt
from flowai_harness.specs.references import define_reference
from flowai_harness.specs.runtime import (
    RuntimeSpec,
    StorageFactories,
    StorageFactorySpec,
    ToolkitSpec,
    augment_agent_prompts,
    define_runtime,
)
from flowai_harness.specs.tenant import TenantIdentity, define_tenant
from flowai_harness.specs.tools import define_tool

MODEL = "claude-sonnet-4-6"
TENANT = define_tenant("acme", "v1")
TENANT_WIRE = {"resourceId": "acme", "version": "v1"}
PROMO_SCHEMA = {"type": "object", "properties": {"actions": {"type": "array"}}}
PROMO = define_plan("Promo", PROMO_SCHEMA)
LOOKUP = define_tool("lookup", {"q": str}, "Look up an item")
DEFAULT_FLOOR_WIRE = {"plans": {"kind": "always"}, "tools": {"kind": "never"}}
EMPTY_STORAGE_WIRE = {"kv": None, "plans": None, "memory": None}


def row(name: str) -> str:
    """The prompt tool-table row of a built-in tool."""
    return f"| {name} | {BUILTIN_TOOLS[name].description} | runtime |"


TABLE_HEAD = "# Tools\n| Tool | Description | Approval |\n| --- | --- | --- |"


def agent(name: str, role: str = "specialist", **fields: Any) -> AgentSpec:
    data: dict[str, Any] = {"name": name, "role": role, "model": MODEL, "system_prompt": "p"}
    data.update(fields)
    return AgentSpec(**data)


def specialist(name: str = "worker", **kwargs: Any) -> AgentSpec:
    kwargs.setdefault("prompt", "Work.")
    return define_specialist(name, model=MODEL, **kwargs)


def coordinator(
    name: str = "coord", routes: tuple[str, ...] = ("worker",), **kwargs: Any
) -> AgentSpec:
    kwargs.setdefault("prompt", "Route.")
    return define_coordinator(name, model=MODEL, routes=routes, **kwargs)


# -- small models --------------------------------------------------------------------------------


def test_toolkit_spec_wire_keeps_a_null_config() -> None:
    assert ToolkitSpec(id="catalog").to_wire() == {"id": "catalog", "config": None}


def test_toolkit_spec_keeps_its_config_opaque() -> None:
    config = {"tools": ["execute_query"], "exposeDiagnostics": True}
    assert ToolkitSpec(id="catalog", config=config).to_wire() == {"id": "catalog", "config": config}


def test_toolkit_spec_validates_a_bare_string_as_the_id() -> None:
    assert ToolkitSpec.model_validate("plans") == ToolkitSpec(id="plans")


def test_toolkit_spec_rejects_an_empty_id() -> None:
    with pytest.raises(ValidationError, match="id"):
        ToolkitSpec(id="")


def test_storage_factories_default_wire_is_all_null() -> None:
    assert StorageFactories().to_wire() == EMPTY_STORAGE_WIRE


def test_storage_factories_wire_carries_descriptors() -> None:
    factories = StorageFactories(kv=StorageFactorySpec(kind="sqlite", config={"url": "x"}))
    assert factories.to_wire() == {
        "kv": {"kind": "sqlite", "config": {"url": "x"}},
        "plans": None,
        "memory": None,
    }


def test_storage_factory_spec_rejects_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="url"):
        StorageFactorySpec.model_validate({"kind": "sqlite", "url": "x"})


def test_testing_config_has_exactly_one_required_key() -> None:
    testing_config = runtime_module.TestingConfig
    assert testing_config.__required_keys__ == frozenset({"mock_response"})
    assert testing_config.__optional_keys__ == frozenset()
    assert get_type_hints(testing_config) == {"mock_response": str}


# -- RuntimeSpec wire and validation -------------------------------------------------------------


def test_runtime_spec_minimal_wire_omits_empty_overrides() -> None:
    assert RuntimeSpec(tenant=TENANT).to_wire() == {
        "tenant": TENANT_WIRE,
        "agents": [],
        "references": [],
        "plans": [],
        "toolkits": [],
        "approvalPolicies": DEFAULT_FLOOR_WIRE,
        "storageFactories": EMPTY_STORAGE_WIRE,
        "providers": {},
    }


def test_runtime_spec_wire_keeps_overrides_when_only_the_agents_map_is_set() -> None:
    spec = RuntimeSpec(
        tenant=TENANT,
        agents=[agent("w")],
        approval_overrides=ApprovalOverrides(agents={"w": ApprovalPolicyPatch(tools="always")}),
    )
    assert spec.to_wire()["approvalOverrides"] == {
        "agents": {"w": {"tools": {"kind": "always"}}},
        "tools": {},
    }


def test_runtime_spec_wire_keeps_overrides_when_only_the_tools_map_is_set() -> None:
    spec = RuntimeSpec(
        tenant=TENANT,
        agents=[agent("w")],
        approval_overrides={"tools": {"w": {"lookup": "always"}}},
    )
    assert spec.to_wire()["approvalOverrides"] == {
        "agents": {},
        "tools": {"w": {"lookup": {"kind": "always"}}},
    }


def test_runtime_spec_python_dump_also_omits_empty_overrides() -> None:
    assert "approval_overrides" not in RuntimeSpec(tenant=TENANT).model_dump()


def test_runtime_spec_keeps_tool_bindings_off_the_wire() -> None:
    spec = RuntimeSpec(tenant=TENANT, tool_bindings=(LOOKUP,))
    assert spec.tool_bindings == (LOOKUP,)
    assert "toolBindings" not in spec.to_wire()


def test_runtime_spec_accepts_a_camel_case_mapping() -> None:
    spec = RuntimeSpec.model_validate(
        {
            "tenant": TENANT_WIRE,
            "approvalPolicies": {"plans": "never", "tools": "always"},
            "storageFactories": {"kv": {"kind": "memory"}},
            "providers": {"anthropic": {"apiKeyEnv": "ANTHROPIC_API_KEY"}},
        }
    )
    assert spec.approval_policies == ApprovalPolicies(plans="never", tools="always")
    assert spec.storage_factories.kv == StorageFactorySpec(kind="memory")


def test_runtime_spec_requires_a_tenant() -> None:
    with pytest.raises(ValidationError, match="tenant"):
        RuntimeSpec.model_validate({})


def test_runtime_spec_rejects_unknown_keys() -> None:
    with pytest.raises(ValidationError, match="services"):
        RuntimeSpec.model_validate({"tenant": TENANT_WIRE, "services": {}})


def test_runtime_spec_rejects_a_duplicate_agent_name() -> None:
    with pytest.raises(ValidationError, match="duplicate agent name 'w'"):
        RuntimeSpec(tenant=TENANT, agents=[agent("w"), agent("w", role="executor")])


def test_runtime_spec_rejects_more_than_one_coordinator() -> None:
    agents = [
        agent("a", role="coordinator", routes=["w"]),
        agent("b", role="coordinator", routes=["w"]),
        agent("w"),
    ]
    with pytest.raises(ValidationError, match="multiple coordinator agents are not supported"):
        RuntimeSpec(tenant=TENANT, agents=agents)


def test_runtime_spec_rejects_a_route_to_the_agent_itself() -> None:
    with pytest.raises(ValidationError, match="agent 'c' cannot route to itself"):
        RuntimeSpec(tenant=TENANT, agents=[agent("c", role="coordinator", routes=["c"])])


def test_runtime_spec_rejects_a_duplicate_route() -> None:
    agents = [agent("c", role="coordinator", routes=["w", "w"]), agent("w")]
    with pytest.raises(ValidationError, match="agent 'c' declares duplicate route 'w'"):
        RuntimeSpec(tenant=TENANT, agents=agents)


def test_runtime_spec_rejects_a_route_to_an_unregistered_agent() -> None:
    agents = [agent("c", role="coordinator", routes=["w", "ghost"]), agent("w")]
    with pytest.raises(ValidationError, match="agent 'c' declares unknown route target 'ghost'"):
        RuntimeSpec(tenant=TENANT, agents=agents)


def test_runtime_spec_checks_routes_of_every_role() -> None:
    with pytest.raises(ValidationError, match="agent 'w' declares unknown route target 'x'"):
        RuntimeSpec(tenant=TENANT, agents=[agent("w", routes=["x"])])


@pytest.mark.parametrize(
    "overrides",
    [
        {"agents": {"ghost": {"tools": "always"}}},
        {"tools": {"ghost": {"lookup": "always"}}},
        {"agents": {"w": {"tools": "always"}}, "tools": {"ghost": {"lookup": "never"}}},
    ],
)
def test_runtime_spec_rejects_overrides_naming_an_unknown_agent(overrides: Any) -> None:
    with pytest.raises(
        ValidationError, match=r"approval_overrides references unknown agent\(s\): \['ghost'\]"
    ):
        RuntimeSpec(tenant=TENANT, agents=[agent("w")], approval_overrides=overrides)


def test_runtime_spec_lists_every_unknown_override_agent_sorted() -> None:
    overrides = {"agents": {"zed": {}}, "tools": {"amy": {"t": "never"}}}
    with pytest.raises(ValidationError, match=r"unknown agent\(s\): \['amy', 'zed'\]"):
        RuntimeSpec(tenant=TENANT, approval_overrides=overrides)


def test_runtime_spec_rejects_duplicate_reference_names() -> None:
    ref = define_reference("ItemSet", {"ids": list[str]})
    with pytest.raises(ValidationError, match="duplicate reference name 'ItemSet'"):
        RuntimeSpec(tenant=TENANT, references=[ref, ref])


def test_runtime_spec_rejects_duplicate_plan_names() -> None:
    with pytest.raises(ValidationError, match="duplicate plan name 'Promo'"):
        RuntimeSpec(tenant=TENANT, plans=[PROMO, define_plan("Promo", {"x": int})])


def test_runtime_spec_rejects_duplicate_toolkit_ids() -> None:
    with pytest.raises(ValidationError, match="duplicate toolkit id 'catalog'"):
        RuntimeSpec(tenant=TENANT, toolkits=["catalog", {"id": "catalog", "config": None}])


# -- define_runtime: the full wire snapshot ------------------------------------------------------


def small_runtime() -> RuntimeSpec:
    promo = define_plan("Promo", PROMO_SCHEMA, {"draft": "Proposed"})
    lookup = define_tool("lookup", {"q": str}, "Look up an item", approval="always")
    return define_runtime(
        define_tenant("acme", "v1"),
        agents=[
            define_coordinator(
                "coord",
                model=MODEL,
                prompt=layered_prompt(identity="You route requests."),
                routes=["planner", "executor", "worker"],
            ),
            define_planner("planner", model=MODEL, prompt="Draft promo plans.", plan=promo),
            define_executor(
                "executor",
                model=MODEL,
                prompt=layered_prompt(identity="You run approved plans.", safety="Be careful."),
                plan=promo,
                max_turns=3,
            ),
            define_specialist(
                "worker",
                model={"id": "gpt-4o", "provider": "anthropic"},
                prompt="# Identity\nYou look things up.",
                tools=[lookup],
                toolkits=["references"],
                tool_approvals={"glimpseRef": "always"},
            ),
        ],
        references=[define_reference("ItemSet", {"item_ids": list[str]}, ttl_ms=3_600_000)],
        providers={"anthropic": {"apiKeyEnv": "ANTHROPIC_API_KEY"}},
    )


def test_define_runtime_pins_the_full_wire_of_a_small_runtime() -> None:
    executor_rows = "\n".join(
        row(name) for name in ("executePlan", "getPlan", "glimpseRef", "resolveRef")
    )
    worker_rows = "\n".join(
        [row("glimpseRef"), "| lookup | Look up an item | always |", row("resolveRef")]
    )
    assert small_runtime().to_wire() == {
        "tenant": {"resourceId": "acme", "version": "v1"},
        "agents": [
            {
                "name": "coord",
                "role": "coordinator",
                "stateful": True,
                "model": {"id": MODEL, "provider": None},
                "systemPrompt": (
                    f"# Identity\nYou route requests.\n\n{TABLE_HEAD}\n{row('call_agent')}"
                ),
                "routes": ["planner", "executor", "worker"],
                "toolkits": [],
            },
            {
                "name": "planner",
                "role": "planner",
                "stateful": True,
                "model": {"id": MODEL, "provider": None},
                "systemPrompt": (
                    f"Draft promo plans.\n\n{TABLE_HEAD}\n{row('getPlan')}\n{row('storePlan')}"
                ),
                "routes": [],
                "toolkits": [],
            },
            {
                "name": "executor",
                "role": "executor",
                "stateful": False,
                "model": {"id": MODEL, "provider": None},
                "systemPrompt": (
                    f"# Identity\nYou run approved plans.\n\n{TABLE_HEAD}\n{executor_rows}"
                    "\n\n# Safety\nBe careful."
                ),
                "routes": [],
                "toolkits": [],
                "maxTurns": 3,
            },
            {
                "name": "worker",
                "role": "specialist",
                "stateful": False,
                "model": {"id": "gpt-4o", "provider": "anthropic"},
                "systemPrompt": f"# Identity\nYou look things up.\n\n{TABLE_HEAD}\n{worker_rows}",
                "routes": [],
                "toolkits": ["references"],
            },
        ],
        "references": [
            {
                "name": "ItemSet",
                "schema": {
                    "type": "object",
                    "properties": {"item_ids": {"type": "array", "items": {"type": "string"}}},
                    "required": ["item_ids"],
                },
                "ttlMs": 3_600_000,
            }
        ],
        "plans": [
            {
                "name": "Promo",
                "schema": PROMO_SCHEMA,
                "displayAliases": [{"status": "draft", "alias": "Proposed"}],
            }
        ],
        "toolkits": [{"id": "references", "config": None}],
        "approvalPolicies": {"plans": {"kind": "always"}, "tools": {"kind": "never"}},
        "approvalOverrides": {
            "agents": {},
            "tools": {"worker": {"lookup": {"kind": "always"}, "glimpseRef": {"kind": "always"}}},
        },
        "storageFactories": {"kv": None, "plans": None, "memory": None},
        "providers": {"anthropic": {"apiKeyEnv": "ANTHROPIC_API_KEY"}},
    }


def test_define_runtime_small_runtime_round_trips_through_its_wire() -> None:
    wire = small_runtime().to_wire()
    assert RuntimeSpec.model_validate(wire).to_wire() == wire


def test_define_runtime_collects_agent_tools_as_py_only_bindings() -> None:
    spec = small_runtime()
    assert [tool.name for tool in spec.tool_bindings] == ["lookup"]


# -- define_runtime: inputs and steps 1, 4, 6, 7 -------------------------------------------------


def test_define_runtime_with_only_a_tenant_equals_the_bare_spec() -> None:
    assert define_runtime(TENANT) == RuntimeSpec(tenant=TENANT)


def test_define_runtime_accepts_mappings_for_every_list_and_the_tenant() -> None:
    spec = define_runtime(
        {"resourceId": "acme", "version": "v1"},
        agents=[{"name": "w", "role": "specialist", "model": MODEL, "systemPrompt": "p"}],
        references=[{"name": "R", "schema": {"a": int}}],
        plans=[{"name": "P", "schema": {"a": int}}],
        toolkits=[{"id": "plans"}],
        approval_policies={"plans": "never"},
        approval_overrides={"agents": {"w": {"tools": "always"}}},
        storage_factories={"kv": {"kind": "memory"}},
        tool_bindings=[{"name": "t", "inputSchema": {"a": int}}],
    )
    assert spec.tenant == TenantIdentity(resource_id="acme", version="v1")
    assert [a.name for a in spec.agents] == ["w"]
    assert [r.name for r in spec.references] == ["R"]
    assert [p.name for p in spec.plans] == ["P"]
    assert spec.toolkits == [ToolkitSpec(id="plans")]
    assert spec.approval_policies == ApprovalPolicies(plans="never")
    assert spec.approval_overrides.agents == {"w": ApprovalPolicyPatch(tools="always")}
    assert spec.storage_factories.kv == StorageFactorySpec(kind="memory")
    assert [t.name for t in spec.tool_bindings] == ["t"]


@pytest.mark.parametrize("field", ["agents", "references", "plans", "toolkits", "tool_bindings"])
@pytest.mark.parametrize("value", ["w", {"name": "w"}, 3])
def test_define_runtime_rejects_a_list_argument_that_is_not_a_list(field: str, value: Any) -> None:
    with pytest.raises(SpecTypeError, match=f"define_runtime {field} must be a list"):
        define_runtime(TENANT, **{field: value})


def test_define_runtime_rejects_an_invalid_agent_mapping() -> None:
    with pytest.raises(ValidationError, match="role"):
        define_runtime(TENANT, agents=[{"name": "w", "model": MODEL, "systemPrompt": "p"}])


def test_define_runtime_rejects_a_coordinator_mapping_without_routes() -> None:
    data = {"name": "c", "role": "coordinator", "model": MODEL, "systemPrompt": "p"}
    with pytest.raises(ValidationError, match="coordinator agents require at least one route"):
        define_runtime(TENANT, agents=[data])


def test_define_runtime_keeps_providers_opaque() -> None:
    providers = {"anthropic": {"apiKey": "sk-x", "extra": [1, 2]}, "openai": {}}
    assert define_runtime(TENANT, providers=providers).providers == providers


def test_define_runtime_rejects_providers_that_are_not_a_mapping() -> None:
    with pytest.raises(ValidationError, match="providers"):
        define_runtime(TENANT, providers=["anthropic"])  # type: ignore[arg-type]


def test_define_runtime_adds_agent_toolkits_after_listed_ones_in_first_occurrence_order() -> None:
    spec = define_runtime(
        TENANT,
        agents=[
            specialist("a", toolkits=["references", "plans"]),
            specialist("b", toolkits=["catalog", "references", "agents"]),
        ],
        toolkits=[{"id": "catalog", "config": {"tools": ["execute_query"]}}],
    )
    assert spec.toolkits == [
        ToolkitSpec(id="catalog", config={"tools": ["execute_query"]}),
        ToolkitSpec(id="references"),
        ToolkitSpec(id="plans"),
        ToolkitSpec(id="agents"),
    ]


def test_define_runtime_accepts_bare_toolkit_ids() -> None:
    assert define_runtime(TENANT, toolkits=["plans"]).toolkits == [ToolkitSpec(id="plans")]


def test_define_runtime_adds_agent_plans_after_listed_ones_deduplicated_by_name() -> None:
    other = define_plan("Restock", {"sku": str})
    spec = define_runtime(
        TENANT,
        agents=[
            define_planner("p", model=MODEL, prompt="p", plan=PROMO),
            define_executor("e", model=MODEL, prompt="p", plan=PROMO.to_wire()),
            define_planner("p2", model=MODEL, prompt="p", plan=other),
        ],
        plans=[PROMO],
    )
    assert spec.plans == [PROMO, other]


def test_define_runtime_rejects_two_different_plans_with_one_name() -> None:
    clash = define_plan("Promo", {"sku": str})
    with pytest.raises(SpecValueError, match="plan name 'Promo' of agent 'e'"):
        define_runtime(
            TENANT,
            agents=[
                define_planner("p", model=MODEL, prompt="p", plan=PROMO),
                define_executor("e", model=MODEL, prompt="p", plan=clash),
            ],
        )


def test_define_runtime_rejects_duplicate_listed_plans() -> None:
    with pytest.raises(ValidationError, match="duplicate plan name 'Promo'"):
        define_runtime(TENANT, plans=[PROMO, PROMO])


def test_define_runtime_rejects_duplicate_listed_references() -> None:
    ref = define_reference("ItemSet", {"ids": list[str]})
    with pytest.raises(ValidationError, match="duplicate reference name 'ItemSet'"):
        define_runtime(TENANT, references=[ref, ref.to_wire()])


def test_define_runtime_adds_agent_tools_to_bindings_deduplicated_by_binding_key() -> None:
    search = define_tool("search", {"q": str})
    search_v2 = define_tool("search", {"q": str}, binding_id="search_v2")
    listed = define_tool("lookup", {"q": str}, "listed wins")
    spec = define_runtime(
        TENANT,
        agents=[
            specialist("a", tools=[LOOKUP, search]),
            specialist("b", tools=[search_v2, search]),
        ],
        tool_bindings=[listed],
    )
    assert spec.tool_bindings == (listed, search, search_v2)


# -- step 5: prompt tool tables ------------------------------------------------------------------


def test_define_runtime_sets_the_prompt_cache_key_to_the_sha256_of_the_final_prompt() -> None:
    for spec_agent in small_runtime().agents:
        expected = hashlib.sha256(spec_agent.system_prompt.encode("utf-8")).hexdigest()
        assert spec_agent.prompt_cache_key == expected


def test_define_runtime_leaves_a_prompt_without_tools_unchanged_but_keyed() -> None:
    (worker,) = define_runtime(TENANT, agents=[specialist()]).agents
    assert worker.system_prompt == "Work."
    assert worker.prompt_cache_key == hashlib.sha256(b"Work.").hexdigest()


def test_define_runtime_keeps_existing_tool_rows_in_the_prompt() -> None:
    prompt = layered_prompt(
        identity="Route.",
        tools=[{"name": "call_agent", "description": "Ask a colleague.", "approval": "never"}],
    )
    spec = define_runtime(
        TENANT, agents=[coordinator(prompt=prompt, routes=("worker",)), specialist()]
    )
    assert spec.agents[0].system_prompt == prompt.text
    assert "| call_agent | Ask a colleague. | never |" in spec.agents[0].system_prompt


def test_define_runtime_renders_toolkit_narrowing_from_the_runtime_toolkit_config() -> None:
    spec = define_runtime(
        TENANT,
        agents=[specialist(toolkits=["catalog"])],
        toolkits=[{"id": "catalog", "config": {"tools": ["execute_query", "search_catalog"]}}],
    )
    assert spec.agents[0].system_prompt == (
        f"Work.\n\n{TABLE_HEAD}\n{row('execute_query')}\n{row('search_catalog')}"
    )


@pytest.mark.parametrize(
    ("role_agent", "expected"),
    [
        (lambda: specialist(toolkits=["plans"]), ["getPlan"]),
        (
            lambda: define_planner(
                "worker", model=MODEL, prompt="Work.", plan=PROMO, toolkits=["plans"]
            ),
            ["getPlan", "storePlan"],
        ),
        (
            lambda: define_executor(
                "worker", model=MODEL, prompt="Work.", plan=PROMO, toolkits=["plans"]
            ),
            ["executePlan", "getPlan", "glimpseRef", "resolveRef"],
        ),
    ],
)
def test_define_runtime_scopes_plans_toolkit_rows_by_role(
    role_agent: Any, expected: list[str]
) -> None:
    spec = define_runtime(TENANT, agents=[role_agent()])
    rows = "\n".join(row(name) for name in expected)
    assert spec.agents[0].system_prompt == f"Work.\n\n{TABLE_HEAD}\n{rows}"


def test_define_runtime_rejects_an_unknown_toolkit_id_on_an_agent() -> None:
    with pytest.raises(SpecValueError, match="unknown toolkit id 'search'"):
        define_runtime(TENANT, agents=[specialist(toolkits=["search"])])


def test_define_runtime_rejects_a_plans_narrowing_forbidden_for_the_role() -> None:
    with pytest.raises(SpecValueError, match="toolkit 'plans' tools are scoped by agent role"):
        define_runtime(
            TENANT,
            agents=[specialist(toolkits=["plans"])],
            toolkits=[{"id": "plans", "config": {"tools": ["executePlan"]}}],
        )


def test_define_runtime_rejects_a_narrowing_name_missing_from_the_toolkit() -> None:
    with pytest.raises(SpecValueError, match="has no tool named 'drop_table'"):
        define_runtime(
            TENANT,
            agents=[specialist(toolkits=["catalog"])],
            toolkits=[{"id": "catalog", "config": {"tools": ["drop_table"]}}],
        )


def test_augment_agent_prompts_is_idempotent_on_a_defined_runtime() -> None:
    spec = small_runtime()
    assert augment_agent_prompts(spec) == spec
    assert augment_agent_prompts(augment_agent_prompts(spec)) == spec


def test_augment_agent_prompts_adds_rows_to_a_spec_built_without_define_runtime() -> None:
    spec = RuntimeSpec(
        tenant=TENANT,
        agents=[agent("e", role="executor", system_prompt="Run.", toolkits=["plans"])],
        toolkits=[ToolkitSpec(id="plans", config={"tools": ["getPlan"]})],
    )
    (executor,) = augment_agent_prompts(spec).agents
    rows = "\n".join(row(n) for n in ("executePlan", "getPlan", "glimpseRef", "resolveRef"))
    assert executor.system_prompt == f"Run.\n\n{TABLE_HEAD}\n{rows}"
    assert executor.prompt_cache_key == hashlib.sha256(executor.system_prompt.encode()).hexdigest()
    assert spec.agents[0].system_prompt == "Run."  # the input spec is untouched


def test_augment_agent_prompts_keeps_everything_but_prompts() -> None:
    spec = small_runtime()
    bare = spec.model_copy(
        update={"agents": [a.model_copy(update={"system_prompt": "x"}) for a in spec.agents]}
    )
    augmented = augment_agent_prompts(bare)
    assert augmented.model_dump(exclude={"agents"}) == bare.model_dump(exclude={"agents"})
    assert augmented.tool_bindings == bare.tool_bindings
    for before, after in zip(bare.agents, augmented.agents, strict=True):
        assert after.model_dump(exclude={"system_prompt", "prompt_cache_key"}) == before.model_dump(
            exclude={"system_prompt", "prompt_cache_key"}
        )


# -- steps 2 and 3: approval derivation ---------------------------------------------------------


def test_without_an_explicit_floor_the_coordinator_patch_sets_the_floor_only() -> None:
    spec = define_runtime(TENANT, agents=[coordinator(approval={"plans": "never"}), specialist()])
    assert spec.approval_policies.to_wire() == {
        "plans": {"kind": "never"},
        "tools": {"kind": "never"},
    }
    assert spec.approval_overrides == ApprovalOverrides()
    assert "approvalOverrides" not in spec.to_wire()


def test_a_default_channel_in_the_coordinator_patch_inherits_the_base_floor() -> None:
    spec = define_runtime(
        TENANT,
        agents=[coordinator(approval={"plans": "default", "tools": "always"}), specialist()],
    )
    assert spec.approval_policies.to_wire() == {
        "plans": {"kind": "always"},
        "tools": {"kind": "always"},
    }


def test_without_an_explicit_floor_other_agent_patches_become_overrides() -> None:
    spec = define_runtime(
        TENANT,
        agents=[
            coordinator(approval={"tools": "always"}),
            specialist(approval={"tools": "never", "plans": "default"}),
        ],
    )
    assert spec.approval_policies == ApprovalPolicies(tools="always")
    assert spec.approval_overrides.agents == {"worker": ApprovalPolicyPatch(tools="never")}


def test_with_an_explicit_floor_the_coordinator_patch_becomes_an_override() -> None:
    spec = define_runtime(
        TENANT,
        agents=[
            coordinator(approval={"plans": "never"}),
            specialist(approval={"tools": "always"}),
        ],
        approval_policies=ApprovalPolicies(tools="always"),
    )
    assert spec.approval_policies == ApprovalPolicies(plans="always", tools="always")
    assert spec.approval_overrides.agents == {
        "coord": ApprovalPolicyPatch(plans="never"),
        "worker": ApprovalPolicyPatch(tools="always"),
    }


def test_with_no_patches_the_floor_is_the_default() -> None:
    spec = define_runtime(TENANT, agents=[coordinator(), specialist()])
    assert spec.approval_policies == ApprovalPolicies()
    assert spec.approval_policies.to_wire() == DEFAULT_FLOOR_WIRE


def test_two_coordinators_with_patches_and_no_explicit_floor_are_rejected() -> None:
    agents = [
        coordinator("a", approval={"plans": "never"}),
        coordinator("b", approval={"tools": "always"}),
        specialist(),
    ]
    with pytest.raises(ValidationError) as caught:
        define_runtime(TENANT, agents=agents)
    assert (
        "only one coordinator can provide approval_policies; pass approval_policies explicitly"
        in str(caught.value)
    )
    assert caught.value.errors()[0]["loc"] == ("approval_policies",)


def test_two_coordinators_with_an_explicit_floor_hit_the_single_coordinator_rule() -> None:
    agents = [
        coordinator("a", approval={"plans": "never"}),
        coordinator("b", approval={"tools": "always"}),
        specialist(),
    ]
    with pytest.raises(ValidationError, match="multiple coordinator agents are not supported"):
        define_runtime(TENANT, agents=agents, approval_policies={})


def test_two_coordinators_without_patches_hit_the_single_coordinator_rule() -> None:
    with pytest.raises(ValidationError, match="multiple coordinator agents are not supported"):
        define_runtime(TENANT, agents=[coordinator("a"), coordinator("b"), specialist()])


def test_collected_tool_overrides_take_each_tool_rule_then_tool_approvals() -> None:
    gated = define_tool("gated", {"x": int}, approval="always")
    renamed = define_tool("search", {"q": str}, binding_id="search_v2")
    spec = define_runtime(
        TENANT,
        agents=[
            specialist("a", tools=[LOOKUP, gated, renamed]),
            specialist(
                "b", tools=[gated], tool_approvals={"gated": "never", "execute_query": "always"}
            ),
            specialist("c"),
        ],
    )
    assert spec.approval_overrides.tools == {
        "a": {
            "lookup": {"kind": "never"},
            "gated": {"kind": "always"},
            "search_v2": {"kind": "never"},
        },
        "b": {"gated": {"kind": "never"}, "execute_query": {"kind": "always"}},
    }


def test_a_callable_tool_approval_is_collected_as_a_dynamic_rule() -> None:
    def needs_review(args: dict[str, Any], ctx: dict[str, Any]) -> bool:
        return True

    checked = define_tool("refund", {"amount": float}, approval=needs_review)
    spec = define_runtime(TENANT, agents=[specialist(tools=[checked])])
    assert spec.approval_overrides.tools == {
        "worker": {"refund": {"kind": "dynamic", "value": "refund_approval"}}
    }


def test_tool_approvals_alone_are_collected_for_an_agent_without_tools() -> None:
    spec = define_runtime(
        TENANT,
        agents=[specialist(toolkits=["catalog"], tool_approvals={"execute_query": "always"})],
    )
    assert spec.approval_overrides.tools == {"worker": {"execute_query": {"kind": "always"}}}


def test_explicit_overrides_replace_everything_collected() -> None:
    spec = define_runtime(
        TENANT,
        agents=[
            coordinator(approval={"plans": "never"}),
            specialist(
                tools=[define_tool("gated", {"x": int}, approval="always")],
                approval={"tools": "always"},
                tool_approvals={"lookup": "always"},
            ),
        ],
        approval_overrides={"tools": {"worker": {"other": "never"}}},
    )
    assert spec.approval_overrides == ApprovalOverrides(tools={"worker": {"other": "never"}})
    # The coordinator patch still sets the floor: only the overrides were given.
    assert spec.approval_policies == ApprovalPolicies(plans="never")


def test_explicit_empty_overrides_drop_the_collected_ones_and_the_wire_key() -> None:
    spec = define_runtime(
        TENANT,
        agents=[specialist(tools=[LOOKUP], approval={"tools": "always"})],
        approval_overrides=ApprovalOverrides(),
    )
    assert spec.approval_overrides == ApprovalOverrides()
    assert "approvalOverrides" not in spec.to_wire()


def test_explicit_overrides_naming_an_unknown_agent_are_rejected() -> None:
    with pytest.raises(
        ValidationError, match=r"approval_overrides references unknown agent\(s\): \['ghost'\]"
    ):
        define_runtime(
            TENANT,
            agents=[specialist()],
            approval_overrides={"agents": {"ghost": {"tools": "always"}}},
        )


# -- property tests ------------------------------------------------------------------------------

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
rules = st.sampled_from(["never", "always", {"kind": "dynamic", "value": "pred"}])
channel_patches = st.none() | st.fixed_dictionaries(
    {}, optional={"plans": rules | st.just("default"), "tools": rules | st.just("default")}
)
plan_pool = [PROMO, define_plan("Restock", {"sku": str, "qty": int}, {"approved": "Go"})]
tool_pool = [
    LOOKUP,
    define_tool("gated", {"x": int}, approval="always"),
    define_tool("search", {"q": str}, binding_id="search_v2"),
]
prompts = st.sampled_from(
    ["Do it.", "# Identity\nYou help.", layered_prompt(identity="Hi", safety="Careful.")]
)


@st.composite
def runtime_specs(draw: st.DrawFn) -> RuntimeSpec:
    agent_names = draw(st.lists(names, unique=True, min_size=0, max_size=5))
    agents: list[AgentSpec] = []
    has_coordinator = len(agent_names) > 1 and draw(st.booleans())
    for index, name in enumerate(agent_names):
        common: dict[str, Any] = {
            "model": draw(st.sampled_from(["claude-sonnet-4-6", {"id": "m", "provider": "x"}])),
            "prompt": draw(prompts),
            "tools": draw(st.lists(st.sampled_from(tool_pool), unique_by=id, max_size=2)),
            "stateful": draw(st.none() | st.booleans()),
            "max_turns": draw(st.none() | st.integers(1, 20)),
            "approval": draw(channel_patches),
            "tool_approvals": draw(st.none() | st.dictionaries(names, rules, max_size=2)),
            "toolkits": draw(st.lists(st.sampled_from(["references", "catalog", "agents"]))),
        }
        if index == 0 and has_coordinator:
            routes = draw(st.lists(st.sampled_from(agent_names[1:]), unique=True, min_size=1))
            agents.append(define_coordinator(name, routes=routes, **common))
            continue
        role = draw(st.sampled_from(["planner", "executor", "specialist"]))
        if role == "specialist":
            agents.append(define_specialist(name, **common))
        else:
            constructor = define_planner if role == "planner" else define_executor
            agents.append(constructor(name, plan=draw(st.sampled_from(plan_pool)), **common))
    return define_runtime(
        TENANT,
        agents=agents,
        references=draw(
            st.lists(
                st.builds(
                    define_reference,
                    names,
                    st.just({"ids": list[str]}),
                    ttl_ms=st.none() | st.integers(0, 10**9),
                ),
                unique_by=lambda r: r.name,
                max_size=2,
            )
        ),
        toolkits=draw(st.lists(st.sampled_from(["plans", "references"]), unique=True)),
        approval_policies=draw(
            st.none() | st.fixed_dictionaries({}, optional={"plans": rules, "tools": rules})
        ),
        storage_factories=draw(
            st.none() | st.just({"kv": {"kind": "sqlite", "config": {"url": "sqlite:/x"}}})
        ),
        providers=draw(
            st.dictionaries(names, st.dictionaries(names, names, max_size=2), max_size=2)
        ),
    )


@settings(max_examples=75, deadline=None)
@given(runtime_specs())
def test_runtime_spec_wire_round_trips(spec: RuntimeSpec) -> None:
    wire = spec.to_wire()
    again = RuntimeSpec.model_validate(wire)
    assert again.to_wire() == wire


@settings(max_examples=75, deadline=None)
@given(runtime_specs())
def test_augment_agent_prompts_is_idempotent(spec: RuntimeSpec) -> None:
    assert augment_agent_prompts(spec) == spec
    stripped = RuntimeSpec.model_validate(spec.to_wire())
    once = augment_agent_prompts(stripped)
    assert augment_agent_prompts(once) == once
