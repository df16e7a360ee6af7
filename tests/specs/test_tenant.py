from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from flowai_harness.errors import SpecTypeError
from flowai_harness.specs.tenant import TenantIdentity, define_tenant

non_blank_text = st.text(min_size=1).filter(lambda s: s.strip() != "")


def test_define_tenant_positional_pins_the_wire_dict() -> None:
    assert define_tenant("acme", "v1").to_wire() == {"resourceId": "acme", "version": "v1"}


def test_tenant_identity_keeps_snake_case_attributes() -> None:
    tenant = define_tenant("acme", "v1")
    assert tenant.resource_id == "acme"
    assert tenant.version == "v1"


def test_define_tenant_accepts_a_camel_case_mapping() -> None:
    tenant = define_tenant({"resourceId": "acme", "version": "v1"})
    assert tenant == TenantIdentity(resource_id="acme", version="v1")


def test_define_tenant_accepts_a_snake_case_mapping() -> None:
    tenant = define_tenant({"resource_id": "acme", "version": "v1"})
    assert tenant.to_wire() == {"resourceId": "acme", "version": "v1"}


def test_define_tenant_renames_a_snake_case_key_over_a_camel_case_one() -> None:
    tenant = define_tenant({"resourceId": "old", "resource_id": "new", "version": "v1"})
    assert tenant.resource_id == "new"


def test_define_tenant_copies_an_existing_identity() -> None:
    original = define_tenant("acme", "v1")
    copy = define_tenant(original)
    assert copy == original
    assert copy is not original


def test_define_tenant_version_argument_overrides_the_tenant_value() -> None:
    original = define_tenant("acme", "v1")
    assert define_tenant(original, "v2").to_wire() == {"resourceId": "acme", "version": "v2"}
    assert define_tenant({"resourceId": "acme", "version": "v1"}, version="v3").version == "v3"


def test_define_tenant_resource_id_keyword_overrides_the_tenant_value() -> None:
    assert define_tenant("acme", "v1", resource_id="globex").resource_id == "globex"
    assert (
        define_tenant({"resource_id": "acme", "version": "v1"}, resource_id="x").resource_id == "x"
    )


def test_define_tenant_from_keywords_only() -> None:
    assert define_tenant(resource_id="acme", version="v1").to_wire() == {
        "resourceId": "acme",
        "version": "v1",
    }


def test_define_tenant_merges_extra_kwargs_last() -> None:
    tenant = define_tenant("acme", "v1", resource_id="ignored", resourceId="winner")
    assert tenant.resource_id == "winner"


def test_define_tenant_rejects_unknown_kwargs() -> None:
    with pytest.raises(ValidationError, match="region"):
        define_tenant("acme", "v1", region="eu")


def test_define_tenant_rejects_unknown_mapping_keys() -> None:
    with pytest.raises(ValidationError, match="extra"):
        define_tenant({"resourceId": "acme", "version": "v1", "extra": 1})


@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        ((), {}, "resource_id"),
        (("acme",), {}, "version"),
        (("", "v1"), {}, "resource_id"),
        (("acme", ""), {}, "version"),
        ((None, "v1"), {}, "resource_id"),
    ],
)
def test_define_tenant_rejects_missing_or_empty_fields(
    args: tuple[object, ...], kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as excinfo:
        define_tenant(*args, **kwargs)  # type: ignore[arg-type]
    assert field in str(excinfo.value)


@pytest.mark.parametrize("blank", [" ", "   ", "\t\n"])
def test_define_tenant_rejects_whitespace_only_resource_id(blank: str) -> None:
    with pytest.raises(ValidationError, match="resource_id must contain a non-whitespace"):
        define_tenant(blank, "v1")


def test_validation_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        define_tenant("", "v1")


@pytest.mark.parametrize("bad", [42, 3.5, ["acme", "v1"], b"acme"])
def test_define_tenant_rejects_unsupported_tenant_types(bad: object) -> None:
    with pytest.raises(SpecTypeError, match=type(bad).__name__) as excinfo:
        define_tenant(bad, "v1")  # type: ignore[arg-type]
    assert "resource id string, a mapping, a TenantIdentity or None" in str(excinfo.value)
    assert isinstance(excinfo.value, TypeError)


def test_tenant_identity_is_frozen() -> None:
    tenant = define_tenant("acme", "v1")
    with pytest.raises(ValidationError):
        tenant.version = "v2"  # type: ignore[misc]


def test_tenant_identity_accepts_snake_and_camel_keys_in_model_validate() -> None:
    camel = TenantIdentity.model_validate({"resourceId": "acme", "version": "v1"})
    snake = TenantIdentity.model_validate({"resource_id": "acme", "version": "v1"})
    assert camel == snake


@given(resource_id=non_blank_text, version=st.text(min_size=1))
def test_tenant_round_trips_through_the_wire(resource_id: str, version: str) -> None:
    tenant = define_tenant(resource_id, version)
    wire = tenant.to_wire()
    assert wire == {"resourceId": resource_id, "version": version}
    assert TenantIdentity.model_validate(wire) == tenant
    assert define_tenant(wire) == tenant
