"""Request-size limits: `TICKETBOOTH_MAX_BODY_BYTES` bounds every request body. A body announced
larger (Content-Length) is refused before it is read; a body sent without a length (chunked) is
counted as it arrives and refused as soon as it passes the limit, without reading the rest. Either
way the answer is 413 in the Kibo envelope, and the connection is closed.

Checked in process (httpx to the ASGI app) and against a real `ticketbooth serve` process, where
the chunked body is written by hand on a socket and never ends: only an answer given before the
end of the body can arrive."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from tests.api.support import ENVELOPE_KEYS, OAUTH, assert_error, ok
from tests.conftest import STOREFRONT, LiveServer, Seed, start_server, stop_server
from ticketbooth.app import create_app
from ticketbooth.config import Settings
from ticketbooth.core import Core

LIMIT = 4096
CHUNK = 1024


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_host="shop.example.test", max_body_bytes=LIMIT)


def oauth_body(size: int) -> bytes:
    """A valid client-credentials request for the storefront app, padded with spaces to `size` bytes."""
    body = json.dumps({"client_id": STOREFRONT[0], "client_secret": STOREFRONT[1],
                       "grant_type": "client_credentials"}).encode()
    assert len(body) <= size
    return body + b" " * (size - len(body))


class Chunks:
    """A request body sent without Content-Length, `count` chunks of CHUNK bytes; counts the chunks
    the server pulled."""

    def __init__(self, count: int, body: bytes | None = None) -> None:
        self.body = body if body is not None else b"x" * (count * CHUNK)
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.body), CHUNK):
            self.pulled += 1
            yield self.body[start:start + CHUNK]


def assert_too_large(r: httpx.Response, limit: int = LIMIT) -> None:
    body = assert_error(r, 413, "REQUEST_TOO_LARGE")
    assert str(limit) in body["message"]
    assert r.headers["connection"] == "close"
    assert r.headers["x-vol-correlation"]


# -- in process ----------------------------------------------------------------------------------

async def test_a_length_over_the_setting_is_refused_before_the_body_is_read(client: httpx.AsyncClient,
                                                                            seeded: Seed) -> None:
    r = await client.post(OAUTH, content=oauth_body(LIMIT + 1), headers={"content-type": "application/json"})
    assert_too_large(r)
    # one byte less passes: the limit is the setting, not the old fixed 64 KiB, and it is inclusive
    r = await client.post(OAUTH, content=oauth_body(LIMIT), headers={"content-type": "application/json"})
    assert ok(r)["access_token"]


async def test_a_chunked_body_over_the_limit_is_refused_as_it_arrives(client: httpx.AsyncClient, seeded: Seed) -> None:
    body = Chunks(count=1000)  # 1 MB, far past the limit
    r = await client.post(OAUTH, content=body, headers={"content-type": "application/json",
                                                         "x-vol-correlation": "big-chunked"})
    assert "content-length" not in r.request.headers and r.request.headers["transfer-encoding"] == "chunked"
    assert_too_large(r)
    assert r.headers["x-vol-correlation"] == "big-chunked"
    # refused at the first chunk past the limit: nothing more was read
    assert body.pulled == LIMIT // CHUNK + 1


async def test_a_chunked_body_at_the_limit_passes(client: httpx.AsyncClient, seeded: Seed) -> None:
    body = Chunks(count=0, body=oauth_body(LIMIT))
    r = await client.post(OAUTH, content=body, headers={"content-type": "application/json"})
    assert "content-length" not in r.request.headers
    assert ok(r)["access_token"]
    assert body.pulled == LIMIT // CHUNK


async def test_the_next_request_after_a_refusal_is_served(client: httpx.AsyncClient, seeded: Seed) -> None:
    assert_too_large(await client.post(OAUTH, content=Chunks(count=10)))
    assert ok(await client.post(OAUTH, content=oauth_body(200), headers={"content-type": "application/json"}))


async def test_a_limit_above_64_kib_lets_larger_bodies_through(core: Core, seeded: Seed) -> None:
    """Raising the setting raises every limit: no reader keeps a fixed 64 KiB of its own."""
    limit = 200_000
    app = create_app(core.settings.model_copy(update={"max_body_bytes": limit}), core=core)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        json_type = {"content-type": "application/json"}
        assert ok(await c.post(OAUTH, content=oauth_body(150_000), headers=json_type))["access_token"]
        assert ok(await c.post(OAUTH, content=Chunks(0, oauth_body(limit)), headers=json_type))["access_token"]
        assert_too_large(await c.post(OAUTH, content=Chunks(0, oauth_body(limit + 1)), headers=json_type), limit)


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().max_body_bytes == 65536
    monkeypatch.setenv("TICKETBOOTH_MAX_BODY_BYTES", "1048576")
    assert Settings().max_body_bytes == 1048576
    for bad in ("100", "0", "-1", "lots", str(2**40)):
        monkeypatch.setenv("TICKETBOOTH_MAX_BODY_BYTES", bad)
        with pytest.raises(ValidationError):
            Settings()


# -- a real server -------------------------------------------------------------------------------

@pytest.fixture
def small_server(database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_server(database_url, tmp_path, extra_env={"TICKETBOOTH_MAX_BODY_BYTES": str(LIMIT)})
    try:
        yield server
    finally:
        stop_server(server)


def raw_post(server: LiveServer, head: str, chunks: list[bytes], *, finish: bool) -> tuple[int, dict[str, str], bytes]:
    """POST to OAUTH on a socket of its own: the request head (`head`: extra header lines), then
    `chunks` in the chunked encoding, and the final empty chunk only when `finish`. Reads until the
    server closes the connection (a timeout fails the test: the server waited for more)."""
    port = int(server.base_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(f"POST {OAUTH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                  f"{head}\r\n".encode())
        for chunk in chunks:
            s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        if finish:
            s.sendall(b"0\r\n\r\n")
        received = b""
        while data := s.recv(65536):
            received += data
    head_bytes, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head_bytes.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    return int(status_line.split()[1]), headers, body


def test_a_live_server_enforces_the_limit(small_server: LiveServer) -> None:
    # a chunked body that passes the limit and then stops without its final chunk: the server answers
    # 413 and closes the connection at once, instead of waiting for the rest
    status, headers, body = raw_post(small_server, "Transfer-Encoding: chunked\r\nx-vol-correlation: endless\r\n",
                                     [b" " * CHUNK] * (LIMIT // CHUNK + 2), finish=False)
    assert status == 413
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["x-vol-correlation"] == "endless"
    envelope = json.loads(body)
    assert set(envelope) == ENVELOPE_KEYS
    assert envelope["errorCode"] == "REQUEST_TOO_LARGE" and str(LIMIT) in envelope["message"]

    # a chunked body within the limit is read: this server has no applications, so the credentials
    # are refused, which they can only be once the body was read and parsed
    within = oauth_body(LIMIT)
    status, _, answer = raw_post(small_server, "Transfer-Encoding: chunked\r\nConnection: close\r\n",
                                 [within[i:i + CHUNK] for i in range(0, LIMIT, CHUNK)], finish=True)
    assert status == 401, answer
    assert json.loads(answer)["errorCode"] == "UNAUTHORIZED"

    # a length over the limit is refused before the body is read
    r = httpx.post(small_server.base_url + OAUTH, content=b" " * (LIMIT + 1), headers={"content-type": "application/json"})
    assert_too_large(r)
