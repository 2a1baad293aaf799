"""The shopper's address a storefront server forwards (kibo/forwarding.py): the right-most
X-Forwarded-For hop the server sent, else (with no X-Forwarded-For at all) the `for` of the last
`Forwarded` element; anything but a plain address is nothing."""

from __future__ import annotations

import pytest

from ticketbooth.kibo.forwarding import forwarded_address


@pytest.mark.parametrize(("hops", "expected"), [
    (["198.51.100.1"], "198.51.100.1"),
    (["203.0.113.9", "198.51.100.1"], "198.51.100.1"),  # the server's own hop, not what its visitor claimed
    (["2001:DB8:0:0::1"], "2001:db8::1"),
    (["unknown"], ""),
    (["198.51.100.1:8080"], ""),
    (["fe80::1%eth0"], ""),
    (["1.2.3.4", "not an address"], ""),
])
def test_x_forwarded_for(hops: list[str], expected: str) -> None:
    assert forwarded_address(hops, True, ["for=192.0.2.60"]) == expected  # Forwarded is not read beside it


def test_a_request_with_x_forwarded_for_but_no_hop_left_of_the_server_forwarded_nothing() -> None:
    assert forwarded_address([], True, ["for=192.0.2.60"]) == ""


@pytest.mark.parametrize(("values", "expected"), [
    (["for=192.0.2.60"], "192.0.2.60"),
    (["For=192.0.2.60;proto=http;by=203.0.113.43"], "192.0.2.60"),
    (['for="192.0.2.60:4711"'], "192.0.2.60"),
    (['for="[2001:db8:cafe::17]"'], "2001:db8:cafe::17"),
    (['for="[2001:db8:cafe::17]:4711"'], "2001:db8:cafe::17"),
    (["for=192.0.2.43, for=198.51.100.17"], "198.51.100.17"),  # the last element
    (["for=192.0.2.43", "for=198.51.100.17"], "198.51.100.17"),
    (["for=unknown"], ""),
    (["for=_hidden"], ""),
    (["for=2001:db8::1"], ""),  # IPv6 must be bracketed and quoted
    (["for=::ffff:1.2.3.4"], ""),
    (['for="[192.0.2.60]"'], ""),
    (['for="[2001:db8::1]x"'], ""),
    (['for="[2001:db8::1"'], ""),
    (['for="192.0.2.60:port"'], ""),
    (['for="[fe80::1%25eth0]"'], ""),
    (["by=192.0.2.60"], ""),
    (["for=192.0.2.60, by=203.0.113.1"], ""),  # the last element names no client
    ([""], ""),
    ([], ""),
])
def test_forwarded(values: list[str], expected: str) -> None:
    assert forwarded_address([], False, values) == expected
