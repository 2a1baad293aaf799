"""`ticketbooth_events_written_total{topic}` in /metrics: committed events by topic, a rolled-back change
counts nothing, and the topics whose count would tell that an account exists are not there at all."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.support import assert_error, login, register
from tests.api.test_metrics import TOKEN, scrape, value
from ticketbooth.config import Settings
from ticketbooth.events import store as event_store

pytestmark = pytest.mark.usefixtures("seeded")

WRITTEN = "ticketbooth_events_written_total"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, public_host="shop.example.test", refresh_grace_seconds=10,
                    metrics_token=TOKEN)


async def test_committed_events_are_counted_by_topic(client: httpx.AsyncClient, app_headers: dict[str, str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    text, before = await scrape(client)
    assert 'topic="customeraccount.locked"' not in text and 'topic="customeraccount.loginfailed"' not in text
    assert (WRITTEN, frozenset({("topic", "customersession.ended")})) in before  # known topics start at 0
    await register(client, app_headers, "mia.metrics@example.com")
    _, after = await scrape(client)
    for topic in ("customeraccount.created", "customeraccount.loginsucceeded"):
        assert value(after, WRITTEN, topic=topic) == value(before, WRITTEN, topic=topic) + 1

    written = event_store.EventStore.add_events

    async def then_fail(self: event_store.EventStore, rows: list[dict[str, Any]]) -> None:
        await written(self, rows)
        raise RuntimeError("rolled back after the event was written")

    monkeypatch.setattr(event_store.EventStore, "add_events", then_fail)
    with pytest.raises(RuntimeError):
        await register(client, app_headers, "max.metrics@example.com")
    monkeypatch.undo()
    _, rolled_back = await scrape(client)
    assert value(rolled_back, WRITTEN, topic="customeraccount.created") == value(after, WRITTEN,
                                                                                   topic="customeraccount.created")
    for _ in range(10):  # the lock and the failures past the threshold: in the log, not in /metrics
        assert_error(await login(client, app_headers, "mia.metrics@example.com", "wrong"), 401)
    text, _ = await scrape(client)
    assert 'topic="customeraccount.locked"' not in text and 'topic="customeraccount.loginfailed"' not in text
