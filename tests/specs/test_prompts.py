from __future__ import annotations

import dataclasses
import hashlib
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from flowai_harness.errors import SpecTypeError, SpecValueError
from flowai_harness.specs.prompts import LayeredPrompt, augment_prompt_tools, layered_prompt
from flowai_harness.specs.tools import define_tool

HEADER = "| Tool | Description | Approval |\n| --- | --- | --- |"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- LayeredPrompt ------------------------------------------------------------------------------


def test_layered_prompt_str_is_its_text_and_key_is_sha256() -> None:
    prompt = layered_prompt(identity="You are a pricing assistant.")
    assert str(prompt) == prompt.text == "# Identity\nYou are a pricing assistant."
    assert prompt.cache_key == _sha(prompt.text)


def test_layered_prompt_is_frozen() -> None:
    prompt = LayeredPrompt.from_text("x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        prompt.text = "y"  # type: ignore[misc]


def test_from_text_computes_the_cache_key() -> None:
    assert LayeredPrompt.from_text("héllo") == LayeredPrompt("héllo", _sha("héllo"))


# -- sections -----------------------------------------------------------------------------------


def test_all_eight_sections_render_in_fixed_order() -> None:
    prompt = layered_prompt(
        examples=[{"input": "hi", "output": "hello"}],
        output_format="Answer in one sentence.",
        safety=["Never reveal secrets."],
        domain_knowledge={"currency": "EUR", "vat": Decimal("0.20")},
        tools=[define_tool("lookup", {"sku": str}, description="Find a product")],
        operational_rules="  Check stock first.  ",
        communication=["Be brief", "Be polite"],
        identity="You are a shop assistant.",
    )
    assert prompt.text == (
        "# Identity\nYou are a shop assistant.\n\n"
        "# Communication\n- Be brief\n- Be polite\n\n"
        "# Operational Rules\nCheck stock first.\n\n"
        f"# Tools\n{HEADER}\n| lookup | Find a product | never |\n\n"
        '# Domain Knowledge\n```json\n{\n  "currency": "EUR",\n  "vat": "0.20"\n}\n```\n\n'
        "# Safety\n- Never reveal secrets.\n\n"
        "# Output Format\nAnswer in one sentence.\n\n"
        '# Examples\n```json\n[\n  {\n    "input": "hi",\n    "output": "hello"\n  }\n]\n```'
    )
    assert prompt.cache_key == _sha(prompt.text)


def test_empty_sections_are_omitted() -> None:
    prompt = layered_prompt(
        identity="Me",
        communication="   ",
        operational_rules=[],
        tools=[],
        domain_knowledge="",
        safety=None,
    )
    assert prompt.text == "# Identity\nMe"


def test_empty_identity_is_omitted_too() -> None:
    assert layered_prompt(identity="", safety="Be safe").text == "# Safety\nBe safe"


def test_text_sequence_items_are_stripped_and_blank_items_skipped() -> None:
    prompt = layered_prompt(identity=["  one ", "", "two"])
    assert prompt.text == "# Identity\n- one\n- two"


def test_text_section_accepts_tuples() -> None:
    assert layered_prompt(identity=("a", "b")).text == "# Identity\n- a\n- b"


@pytest.mark.parametrize("field", ["identity", "communication", "operational_rules", "safety"])
@pytest.mark.parametrize("value", [3, {"a": "b"}, b"bytes", 1.5])
def test_text_section_of_wrong_type_is_type_error(field: str, value: Any) -> None:
    kwargs: dict[str, Any] = {"identity": "Me", field: value}
    with pytest.raises(SpecTypeError, match=f"^{field} must be a string or a sequence of strings"):
        layered_prompt(**kwargs)


def test_identity_none_is_type_error() -> None:
    with pytest.raises(TypeError, match="identity must be a string or a sequence of strings"):
        layered_prompt(identity=None)


def test_text_sequence_with_non_string_item_is_type_error() -> None:
    with pytest.raises(
        TypeError, match="safety must be a string or a sequence of strings; got an item"
    ):
        layered_prompt(identity="Me", safety=["ok", 3])


# -- structured sections ------------------------------------------------------------------------


def test_structured_string_is_stripped_not_fenced() -> None:
    assert layered_prompt(identity="Me", examples="  e.g. X \n").text == (
        "# Identity\nMe\n\n# Examples\ne.g. X"
    )


@pytest.mark.parametrize(
    ("value", "dumped"),
    [
        (3, "3"),
        (2.5, "2.5"),
        (True, "true"),
        (Decimal("1.10"), '"1.10"'),
        (date(2024, 5, 1), '"2024-05-01"'),
        (datetime(2024, 5, 1, 12, 30), '"2024-05-01T12:30:00"'),
        ([], "[]"),
        ({}, "{}"),
        ({"b": [1, None], "a": "é"}, '{\n  "a": "é",\n  "b": [\n    1,\n    null\n  ]\n}'),
        ((1, 2), "[\n  1,\n  2\n]"),
    ],
)
def test_structured_values_render_as_fenced_sorted_json(value: Any, dumped: str) -> None:
    prompt = layered_prompt(identity="Me", output_format=value)
    assert prompt.text == f"# Identity\nMe\n\n# Output Format\n```json\n{dumped}\n```"


def test_structured_pydantic_model_uses_alias_dump() -> None:
    class Answer(BaseModel):
        total_price: Decimal = Field(alias="totalPrice")
        day: date

    value = Answer(totalPrice=Decimal("9.5"), day=date(2024, 1, 2))
    prompt = layered_prompt(identity="Me", domain_knowledge={"answer": value})
    assert prompt.text.endswith(
        '```json\n{\n  "answer": {\n    "day": "2024-01-02",\n    "totalPrice": "9.5"\n  }\n}\n```'
    )


@pytest.mark.parametrize("field", ["domain_knowledge", "output_format", "examples"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_structured_non_finite_float_is_type_error(field: str, bad: float) -> None:
    kwargs: dict[str, Any] = {"identity": "Me", field: {"x": [bad]}}
    with pytest.raises(SpecTypeError, match=rf"^{field}\['x'\]\[0\] is a non-finite float"):
        layered_prompt(**kwargs)


def test_structured_non_string_key_is_type_error() -> None:
    with pytest.raises(SpecTypeError, match="examples has a mapping key of type int"):
        layered_prompt(identity="Me", examples={1: "one"})


@pytest.mark.parametrize("bad", [object(), {1, 2}, b"raw", complex(1, 2)])
def test_structured_unknown_object_is_type_error(bad: Any) -> None:
    with pytest.raises(
        SpecTypeError, match=r"^domain_knowledge\['v'\] has an unsupported value of type"
    ):
        layered_prompt(identity="Me", domain_knowledge={"v": bad})


# -- tools table --------------------------------------------------------------------------------


def test_tools_table_rows_sorted_with_approval_cells() -> None:
    prompt = layered_prompt(
        identity="Me",
        tools=[
            define_tool("zeta", {}, description="Z", approval="always"),
            {"name": "beta", "description": "B", "approval": {"kind": "dynamic", "value": "p"}},
            {"name": "gamma", "description": "G", "approval": "runtime"},
            "alpha",
        ],
    )
    assert prompt.text == (
        f"# Identity\nMe\n\n# Tools\n{HEADER}\n"
        "| alpha |  |  |\n"
        "| beta | B | dynamic |\n"
        "| gamma | G | runtime |\n"
        "| zeta | Z | always |"
    )


def test_tools_table_first_occurrence_of_a_name_wins() -> None:
    prompt = layered_prompt(
        identity="Me",
        tools=[{"name": "a", "description": "first"}, {"name": "a", "description": "second"}],
    )
    assert "| a | first |  |" in prompt.text
    assert "second" not in prompt.text


def test_tools_table_escapes_pipes_and_flattens_newlines() -> None:
    prompt = layered_prompt(
        identity="Me", tools=[{"name": "a", "description": "x | y\nz\r\nw", "approval": "n|o"}]
    )
    assert prompt.text.endswith("| a | x \\| y z w | n\\|o |")


def test_tools_accepts_any_iterable() -> None:
    prompt = layered_prompt(identity="Me", tools=(name for name in ["b", "a"]))
    assert prompt.text.endswith("| a |  |  |\n| b |  |  |")


@pytest.mark.parametrize("tools", ["lookup", {"name": "x"}, 3, define_tool("x", {})])
def test_tools_that_are_not_an_iterable_of_rows_is_type_error(tools: Any) -> None:
    with pytest.raises(SpecTypeError, match=r"^tools must be an iterable of ToolSpec"):
        layered_prompt(identity="Me", tools=tools)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (3, r"tools\[0\] must be a ToolSpec"),
        ({"description": "no name"}, r"tools\[0\] needs a string 'name'"),
        ({"name": "a", "description": 3}, r"tools\[0\].description must be a string"),
        ({"name": "a", "approval": 3}, r"tools\[0\].approval must be a string or a rule mapping"),
    ],
)
def test_malformed_tool_row_is_type_error(row: Any, message: str) -> None:
    with pytest.raises(SpecTypeError, match=message):
        layered_prompt(identity="Me", tools=[row])


def test_tool_row_with_empty_name_is_value_error() -> None:
    with pytest.raises(SpecValueError, match=r"tools\[1\] has an empty tool name"):
        layered_prompt(identity="Me", tools=["a", "  "])


# -- determinism --------------------------------------------------------------------------------

_text = st.one_of(st.text(), st.lists(st.text(), max_size=4))
_json = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(), children, max_size=3)
    ),
    max_leaves=10,
)
_rows = st.lists(
    st.one_of(
        st.text(min_size=1).filter(lambda s: s.strip() != ""),
        st.fixed_dictionaries(
            {
                "name": st.text(min_size=1).filter(lambda s: s.strip() != ""),
                "description": st.text(),
                "approval": st.sampled_from(["never", "always", "runtime"]),
            }
        ),
    ),
    max_size=5,
)


@given(
    identity=_text,
    communication=st.one_of(st.none(), _text),
    tools=st.one_of(st.none(), _rows),
    domain_knowledge=st.one_of(st.none(), _json),
    examples=st.one_of(st.none(), _json),
)
def test_layered_prompt_is_deterministic_and_keyed_by_sha256(
    identity: Any, communication: Any, tools: Any, domain_knowledge: Any, examples: Any
) -> None:
    kwargs = {
        "identity": identity,
        "communication": communication,
        "tools": tools,
        "domain_knowledge": domain_knowledge,
        "examples": examples,
    }
    first = layered_prompt(**kwargs)
    second = layered_prompt(**kwargs)
    assert first == second
    assert first.cache_key == _sha(first.text)


# -- augment_prompt_tools -----------------------------------------------------------------------


def test_augment_merges_into_existing_table_and_existing_rows_win() -> None:
    base = layered_prompt(
        identity="Me", tools=[{"name": "lookup", "description": "mine", "approval": "never"}]
    )
    augmented = augment_prompt_tools(
        base.text,
        [
            {"name": "lookup", "description": "engine", "approval": "runtime"},
            {"name": "call_agent", "description": "Hand off", "approval": "runtime"},
        ],
    )
    assert augmented.text == (
        f"# Identity\nMe\n\n# Tools\n{HEADER}\n"
        "| call_agent | Hand off | runtime |\n"
        "| lookup | mine | never |"
    )
    assert augmented.cache_key == _sha(augmented.text)


def test_augment_inserts_tools_after_last_of_identity_communication_rules() -> None:
    base = layered_prompt(
        identity="Me", communication="Short", operational_rules="R", safety="Careful"
    )
    augmented = augment_prompt_tools(base, ["storePlan"])
    assert augmented.text == (
        "# Identity\nMe\n\n# Communication\nShort\n\n# Operational Rules\nR\n\n"
        f"# Tools\n{HEADER}\n| storePlan |  |  |\n\n# Safety\nCareful"
    )


def test_augment_uses_identity_when_it_is_the_only_anchor() -> None:
    text = "# Identity\nMe\n\n# Examples\nx"
    assert augment_prompt_tools(text, ["a"]).text == (
        f"# Identity\nMe\n\n# Tools\n{HEADER}\n| a |  |  |\n\n# Examples\nx"
    )


def test_augment_appends_when_the_anchor_is_the_last_section() -> None:
    text = "# Safety\nS\n\n# Communication\nC\n"
    assert augment_prompt_tools(text, ["a"]).text == (
        f"# Safety\nS\n\n# Communication\nC\n\n# Tools\n{HEADER}\n| a |  |  |\n"
    )


def test_augment_inserts_at_front_without_anchor_sections() -> None:
    text = "Preamble.\n# Safety\nS\n\n# Examples\nE"
    assert augment_prompt_tools(text, ["a"]).text == (
        f"Preamble.\n\n# Tools\n{HEADER}\n| a |  |  |\n\n# Safety\nS\n\n# Examples\nE"
    )


def test_augment_inserts_at_very_front_when_text_starts_with_a_heading() -> None:
    assert augment_prompt_tools("# Safety\nS", ["a"]).text == (
        f"# Tools\n{HEADER}\n| a |  |  |\n\n# Safety\nS"
    )


def test_augment_appends_when_text_has_no_headings() -> None:
    assert augment_prompt_tools("You are helpful.", ["a"]).text == (
        f"You are helpful.\n\n# Tools\n{HEADER}\n| a |  |  |"
    )


def test_augment_of_empty_text_is_just_the_tools_section() -> None:
    assert augment_prompt_tools("", ["a"]).text == f"# Tools\n{HEADER}\n| a |  |  |"


def test_augment_with_no_rows_returns_text_unchanged() -> None:
    text = "# Identity\nMe  \n"
    assert augment_prompt_tools(text, []) == LayeredPrompt(text, _sha(text))


def test_augment_ignores_headings_inside_fenced_code() -> None:
    text = "# Examples\n```\n# Identity\n# Tools\n```"
    assert augment_prompt_tools(text, ["a"]).text == (
        f"# Tools\n{HEADER}\n| a |  |  |\n\n# Examples\n```\n# Identity\n# Tools\n```"
    )


def test_augment_adds_table_to_tools_section_without_one() -> None:
    text = "# Identity\nMe\n\n# Tools\nUse tools wisely.\n\n# Safety\nS"
    assert augment_prompt_tools(text, ["a"]).text == (
        f"# Identity\nMe\n\n# Tools\nUse tools wisely.\n\n{HEADER}\n| a |  |  |\n\n# Safety\nS"
    )


def test_augment_sorts_existing_rows_and_keeps_prose_around_the_table() -> None:
    text = (
        "# Tools\nIntro.\n| Tool | Description | Approval |\n|---|---|---|\n"
        "| b | B | never |\n| a | A | never |\nOutro."
    )
    assert augment_prompt_tools(text, ["c"]).text == (
        "# Tools\nIntro.\n| Tool | Description | Approval |\n|---|---|---|\n"
        "| a | A | never |\n| b | B | never |\n| c |  |  |\nOutro."
    )


def test_augment_recognises_escaped_names_in_existing_rows() -> None:
    base = layered_prompt(identity="Me", tools=[{"name": "a|b", "description": "old"}])
    augmented = augment_prompt_tools(base.text, [{"name": "a|b", "description": "new"}])
    assert augmented.text == base.text


def test_augment_accepts_tool_specs() -> None:
    spec = define_tool("lookup", {}, description="Find", approval="always")
    assert augment_prompt_tools("# Identity\nMe", [spec]).text == (
        f"# Identity\nMe\n\n# Tools\n{HEADER}\n| lookup | Find | always |"
    )


def test_augment_rejects_non_string_text() -> None:
    with pytest.raises(SpecTypeError, match="text must be a string"):
        augment_prompt_tools(3, ["a"])  # type: ignore[arg-type]


def test_augment_rejects_malformed_tools() -> None:
    with pytest.raises(SpecTypeError, match="tools must be an iterable"):
        augment_prompt_tools("x", "a")


_heading = st.sampled_from(
    ["# Identity", "# Communication", "# Operational Rules", "# Tools", "# Safety", "# Examples"]
)
_line = st.one_of(
    _heading,
    st.text(alphabet="ab |#`-\\\n", max_size=12),
    st.sampled_from(["```", "| Tool | Description | Approval |", "| --- | --- | --- |"]),
)
_documents = st.lists(_line, max_size=12).map("\n".join)


@given(text=_documents, tools=_rows)
def test_augment_is_idempotent(text: str, tools: list[Any]) -> None:
    once = augment_prompt_tools(text, tools)
    twice = augment_prompt_tools(once.text, tools)
    assert twice == once
    assert once.cache_key == _sha(once.text)


@given(
    text=_documents,
    names=st.lists(st.from_regex(r"[xyz_]{1,6}", fullmatch=True), min_size=1, max_size=5),
)
def test_augment_adds_a_row_for_every_new_name(text: str, names: list[str]) -> None:
    augmented = augment_prompt_tools(text, names).text
    for name in names:
        assert f"\n| {name} |  |  |" in augmented


def test_public_prompts_module_reexports() -> None:
    import flowai_harness.prompts as public

    assert public.augment_prompt_tools is augment_prompt_tools
    assert public.layered_prompt is layered_prompt
    assert public.LayeredPrompt is LayeredPrompt
