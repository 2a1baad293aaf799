"""The pure rules of push delivery: the signatures (Standard Webhooks' published test vector, Kibo's hash as
hash-stream.js computes it), the notification body, which endpoints and addresses are allowed, retries."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from datetime import UTC, datetime, timedelta

import pytest

from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.webhooks import rules
from ticketbooth.webhooks.rules import EndpointPolicy

STRICT = EndpointPolicy()


def test_standard_webhooks_published_test_vector() -> None:
    """The vector of the Standard Webhooks specification (and of the svix libraries)."""
    at = datetime.fromtimestamp(1614265330, UTC)
    headers = rules.signed_headers("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
                                   '{"test": 2432232314}', at)
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert headers["webhook-timestamp"] == "1614265330" and headers["webhook-id"] == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    assert headers["Date"] == "Thu, 25 Feb 2021 15:02:10 GMT"


def test_kibo_hash_is_hash_stream_js() -> None:
    secret, date, body = "s3cret", "Thu, 25 Feb 2021 15:02:10 GMT", '{"a":1}'
    key = base64.b64encode(hashlib.sha256(b"s3crets3cret").digest()).decode()
    expected = base64.b64encode(hashlib.sha256((key + date + body).encode()).digest()).decode()
    assert rules.kibo_signature(secret, date, body) == expected
    assert rules.kibo_signature(secret, date, body + " ") != expected
    assert rules.kibo_signature("other", date, body) != expected


def test_secret_form() -> None:
    secret = rules.new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert rules.new_secret() != secret


def test_notification_is_compact_kibo_json_with_ids_only() -> None:
    at = datetime(2026, 12, 5, 13, 27, 34, 844916, tzinfo=UTC)
    body = rules.notification("e-1", "customeraccount.created", "1001", at, None, False, {"userId": "u1"})
    assert body == ('{"eventId":"e-1","topic":"customeraccount.created","entityId":"1001",'
                    '"timestamp":"2026-12-05T13:27:34.844Z","correlationId":null,"isTest":false,'
                    '"extendedProperties":[{"key":"userId","value":"u1"}]}')
    assert json.dumps(json.loads(body), separators=(",", ":")) == body  # what JSON.stringify gives back
    assert json.loads(rules.notification("e", "a.b", "1", at, "c", True, None))["extendedProperties"] == []


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.5.4", "192.168.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
    "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1",
    "2002:7f00:1::", "64:ff9b::a00:1", "::127.0.0.1", "192.0.2.1", "198.18.0.1", "not an address",
])
def test_non_public_addresses_refused(address: str) -> None:
    assert rules.address_allowed(address, STRICT) is False


@pytest.mark.parametrize("address", ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_allowed(address: str) -> None:
    assert rules.address_allowed(address, STRICT) is True


def test_allowed_networks() -> None:
    policy = EndpointPolicy.parse("", "127.0.0.1/32, 10.0.0.0/8")
    assert rules.address_allowed("127.0.0.1", policy) and rules.address_allowed("10.9.9.9", policy)
    assert not rules.address_allowed("127.0.0.2", policy) and not rules.address_allowed("192.168.1.1", policy)


def test_endpoint_parsing() -> None:
    e = rules.parse_endpoint("https://Hooks.Example.com:8443/kibo/events?x=1", STRICT)
    assert (e.scheme, e.host, e.port, e.target, e.host_header) == (
        "https", "hooks.example.com", 8443, "/kibo/events?x=1", "hooks.example.com:8443")
    assert rules.parse_endpoint("https://h.example.com", STRICT).target == "/"
    assert rules.parse_endpoint("http://127.0.0.1:9/x", EndpointPolicy.parse("127.0.0.1", "")).port == 9
    for bad in ("http://h.example.com/", "https://u@h.example.com/", "https://h.example.com/#f", "gopher://h/",
                "https://h.example.com/a\nb", "https://h.example.com:0x/", "https://h.example.com:0/",
                "https://" + "a" * 2000 + ".com/"):
        with pytest.raises(InvalidParameter):
            rules.parse_endpoint(bad, STRICT)


def test_topics() -> None:
    known = ("customeraccount.created", "customeraccount.deleted")
    assert rules.topics_of(["CustomerAccount.Created", "customeraccount.created"], known) == ["customeraccount.created"]
    for bad in ([], [None], ["customeraccount.exploded"], ["nodot"]):
        with pytest.raises(InvalidParameter):
            rules.topics_of(bad, known)
    number = rules.topic_number("customeraccount.created")
    assert 0 < number < 2**31 and rules.topic_by_number(number, known) == "customeraccount.created"


def test_retry_delay_and_give_up() -> None:
    rng = random.Random(1)
    delays = [rules.retry_delay(n, rng, 60).total_seconds() for n in range(1, 12)]
    assert 30 <= delays[0] <= 60 and 60 <= delays[1] <= 120 and all(d <= 3600 for d in delays)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert not rules.gives_up(start, start + timedelta(days=13), 14 * 86400)
    assert rules.gives_up(start, start + timedelta(days=14), 14 * 86400)
