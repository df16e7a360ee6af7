"""Who may reach a local HTTP server (src/flowai_harness/_mcp_serving/exposure.py): bind addresses,
the Host policy, the Origin and bearer-token checks. Pure: nothing is bound or sent."""

from __future__ import annotations

import pytest

from flowai_harness._mcp_serving.exposure import (
    HostPolicy,
    bearer_token_matches,
    check_allowed_hosts,
    check_allowed_origins,
    check_token,
    host_name,
    origin_allowed,
    require_token_for_network,
    resolve_bind_host,
    same_origin,
)
from flowai_harness.errors import ConfigurationError, SpecTypeError, SpecValueError

NETWORK_IP = "192.0.2.10"  # a documentation address: never bound, never contacted


@pytest.mark.parametrize(
    ("host", "loopback", "wildcard"),
    [
        ("127.0.0.1", True, False),
        ("::1", True, False),
        ("[::1]", True, False),
        ("localhost", True, False),
        ("0.0.0.0", False, True),
        ("::", False, True),
        (NETWORK_IP, False, False),
    ],
)
def test_bind_addresses_are_classified(host: str, loopback: bool, wildcard: bool) -> None:
    target = resolve_bind_host(host)
    assert (target.loopback, target.wildcard) == (loopback, wildcard)


def test_the_bound_address_replaces_resolution() -> None:
    target = resolve_bind_host("studio.invalid", bound_address=NETWORK_IP)
    assert target.addresses == (NETWORK_IP,) and not target.loopback
    assert resolve_bind_host("0.0.0.0", bound_address="0.0.0.0").shown_host() == "127.0.0.1"


def test_an_unresolvable_bind_host_is_a_value_error() -> None:
    with pytest.raises(SpecValueError, match="invalid bind address 'no such host'"):
        resolve_bind_host("no such host")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", NETWORK_IP])
def test_a_network_bind_without_a_token_is_refused(host: str) -> None:
    target = resolve_bind_host(host)
    with pytest.raises(ConfigurationError, match="without a token") as caught:
        require_token_for_network(target, None, server="the Studio", remedy="--token")
    assert "--token" in str(caught.value) and "127.0.0.1" in str(caught.value)
    require_token_for_network(target, "a-token", server="the Studio", remedy="--token")


def test_a_loopback_bind_needs_no_token() -> None:
    require_token_for_network(resolve_bind_host("127.0.0.1"), None, server="x", remedy="y")


def test_a_loopback_bind_accepts_loopback_names_and_nothing_else() -> None:
    policy = HostPolicy.for_bind(resolve_bind_host("127.0.0.1"))
    for header in ("127.0.0.1:4111", "localhost", "[::1]:80", "LOCALHOST:1"):
        assert policy.allows(header, "127.0.0.1"), header
    assert not policy.allows("rebind.example:4111", "127.0.0.1")
    assert not policy.allows(None, "127.0.0.1")
    assert not policy.allows("", "127.0.0.1")


def test_a_network_bind_refuses_loopback_and_wildcard_names() -> None:
    policy = HostPolicy.for_bind(resolve_bind_host(NETWORK_IP), ["studio.example"])
    assert policy.allows(f"{NETWORK_IP}:4111", NETWORK_IP)
    assert policy.allows("studio.example", NETWORK_IP)
    for spoofed in ("127.0.0.1:4111", "localhost", "0.0.0.0:4111", "[::1]", "evil.example"):
        assert not policy.allows(spoofed, NETWORK_IP), spoofed


def test_a_wildcard_bind_takes_loopback_names_only_from_loopback_connections() -> None:
    any_name = HostPolicy.for_bind(resolve_bind_host("0.0.0.0"))
    assert any_name.allows("whatever.example", NETWORK_IP)
    assert any_name.allows("localhost:4111", "127.0.0.1")
    assert any_name.allows("localhost:4111", "::ffff:127.0.0.1")
    assert not any_name.allows("127.0.0.1:4111", NETWORK_IP)
    assert not any_name.allows("0.0.0.0:4111", NETWORK_IP)
    listed = HostPolicy.for_bind(resolve_bind_host("0.0.0.0"), ["studio.example"])
    assert listed.allows("studio.example", NETWORK_IP)
    assert not listed.allows(NETWORK_IP, NETWORK_IP)


def test_host_names_lose_their_port_and_brackets() -> None:
    assert host_name("Example.COM:80") == "example.com"
    assert host_name("[::1]:4111") == "::1"
    assert host_name("[::1") is None and host_name(None) is None


def test_same_origin_normalises_default_ports() -> None:
    assert same_origin("http://127.0.0.1:4111", "http", "127.0.0.1:4111")
    assert same_origin("http://example.com", "http", "example.com:80")
    assert same_origin("http://[::1]:4111", "http", "[::1]:4111")
    assert not same_origin("http://127.0.0.1:4112", "http", "127.0.0.1:4111")
    assert not same_origin("https://127.0.0.1:4111", "http", "127.0.0.1:4111")
    assert not same_origin("null", "http", "127.0.0.1:4111")
    assert not same_origin("http://127.0.0.1:4111", "http", None)


def test_origins_match_exactly_or_on_any_port() -> None:
    allowed = ("http://app.example:3000", "http://localhost:*")
    assert origin_allowed("http://app.example:3000", allowed)
    assert origin_allowed("http://localhost:5173", allowed)
    assert not origin_allowed("http://localhost.evil.example:1", allowed)
    assert not origin_allowed("http://app.example:4000", allowed)
    assert not origin_allowed("http://localhost:", allowed)


def test_bearer_tokens_are_compared_exactly() -> None:
    assert bearer_token_matches("Bearer s3cret", "s3cret")
    assert bearer_token_matches("bearer s3cret", "s3cret")
    for header in (None, "", "s3cret", "Bearer s3cre", "Bearer s3cret2", "Basic s3cret"):
        assert not bearer_token_matches(header, "s3cret"), header


def test_argument_checks_name_what_is_wrong() -> None:
    assert check_token(None) is None and check_token("a-b_c.9") == "a-b_c.9"
    with pytest.raises(SpecValueError, match="printable ASCII"):
        check_token("has space")
    with pytest.raises(SpecTypeError, match="token must be a string"):
        check_token(42)
    assert check_allowed_hosts(["Studio.Example", "[::1]"]) == ("studio.example", "::1")
    for bad in ("http://x", "x:80", "*", " ", "a/b"):
        with pytest.raises(SpecValueError, match="not a host name"):
            check_allowed_hosts([bad])
    with pytest.raises(SpecTypeError):
        check_allowed_hosts("studio.example")
    assert check_allowed_origins(["http://a:1/", "http://b:*"]) == ("http://a:1", "http://b:*")
    with pytest.raises(SpecValueError, match="is not an origin"):
        check_allowed_origins(["localhost"])
