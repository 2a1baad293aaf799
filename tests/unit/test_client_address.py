"""The client address rate limits, sessions and the audit trail see: the direct peer, unless the
peer is a trusted proxy (TICKETBOOTH_TRUSTED_PROXIES); then the right-most X-Forwarded-For hop that
is not itself a trusted proxy."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from starlette.requests import Request

from ticketbooth.config import Settings
from ticketbooth.kibo.context import client_address, trusted_networks


def _request(peer: str | None, trusted: str, *forwarded: str) -> Request:
    app = FastAPI()
    app.state.core = SimpleNamespace(settings=Settings(database_url="sqlite:///unused.db", trusted_proxies=trusted))
    scope = {
        "type": "http", "method": "GET", "path": "/", "query_string": b"", "app": app,
        "client": (peer, 40000) if peer is not None else None,
        "headers": [(b"x-forwarded-for", value.encode("latin-1")) for value in forwarded],
    }
    return Request(scope)


PROXY = "10.0.0.5"


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_forwards() -> None:
    assert client_address(_request("203.0.113.7", "", "198.51.100.1")) == "203.0.113.7"


def test_an_untrusted_peer_cannot_claim_another_address() -> None:
    assert client_address(_request("203.0.113.7", "10.0.0.0/8", "198.51.100.1")) == "203.0.113.7"


def test_a_trusted_proxy_passes_on_the_address_it_saw() -> None:
    assert client_address(_request(PROXY, "10.0.0.0/8", "198.51.100.1")) == "198.51.100.1"


def test_the_right_most_untrusted_hop_wins_over_what_the_client_claims() -> None:
    # the client sent "X-Forwarded-For: 1.2.3.4" itself; the proxy appended what it saw
    assert client_address(_request(PROXY, "10.0.0.0/8", "1.2.3.4, 198.51.100.1")) == "198.51.100.1"


def test_a_chain_of_trusted_proxies_is_walked_through() -> None:
    assert client_address(_request(PROXY, "10.0.0.0/8,192.168.1.1", "198.51.100.1, 192.168.1.1, 10.1.2.3")) == \
        "198.51.100.1"


def test_several_headers_are_read_as_one_list_in_order() -> None:
    assert client_address(_request(PROXY, "10.0.0.0/8", "1.2.3.4", "198.51.100.1, 10.9.9.9")) == "198.51.100.1"


def test_ipv6_hops_are_normalized() -> None:
    assert client_address(_request(PROXY, "10.0.0.0/8", "2001:DB8:0:0::1")) == "2001:db8::1"
    assert client_address(_request("::1", "::1", "2001:db8::2")) == "2001:db8::2"


@pytest.mark.parametrize("forwarded", ["not-an-address", "198.51.100.1, 300.1.1.1", "198.51.100.1, unknown"])
def test_a_malformed_hop_makes_the_proxy_itself_the_client(forwarded: str) -> None:
    assert client_address(_request(PROXY, "10.0.0.0/8", forwarded)) == PROXY


def test_empty_hops_are_skipped_and_no_header_leaves_the_peer() -> None:
    assert client_address(_request(PROXY, "10.0.0.0/8", "198.51.100.1, , ")) == "198.51.100.1"
    assert client_address(_request(PROXY, "10.0.0.0/8")) == PROXY
    assert client_address(_request(PROXY, "10.0.0.0/8", "10.1.1.1, 10.2.2.2")) == PROXY  # all hops are proxies


def test_no_peer_at_all_is_an_empty_address() -> None:
    assert client_address(_request(None, "10.0.0.0/8", "198.51.100.1")) == ""


def test_trusted_proxies_are_networks_and_single_addresses() -> None:
    networks = trusted_networks("10.0.0.0/8, 192.168.1.1 ,::1")
    assert [str(n) for n in networks] == ["10.0.0.0/8", "192.168.1.1/32", "::1/128"]
    with pytest.raises(ValueError):
        Settings(database_url="sqlite:///unused.db", trusted_proxies="10.0.0.0/8,not-a-network")
