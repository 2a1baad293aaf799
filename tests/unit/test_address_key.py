"""The one place a client address becomes the key of its per-address limits (issue 13c)."""

from __future__ import annotations

import pytest

from ticketbooth.login.limits import address_key


@pytest.mark.parametrize(("address", "key"), [
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2::", "2001:db8:1:2::/64"),
    ("fe80::1%eth0", "fe80::/64"),
    ("::ffff:203.0.113.9", "203.0.113.9"),
    ("203.0.113.9", "203.0.113.9"),
    ("", "unknown"),
    ("testclient", "testclient"),
])
def test_address_key(address: str, key: str) -> None:
    assert address_key(address) == key
