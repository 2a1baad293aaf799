"""infra/metrics.py: the counters' totals as the console's overview reads them, and their growth per minute."""

from __future__ import annotations

from ticketbooth.infra import metrics


def test_growth_per_minute_from_samples() -> None:
    history = metrics.History()
    base = 1_800_000_000.0  # a whole minute
    for second, total in [(0, 5), (10, 6), (50, 9), (60, 10), (70, 10), (119, 14), (125, 20)]:
        history.add(base + second, {"login.failed": float(total)})
    minutes = history.per_minute("login.failed", base + 125, 4)
    assert [start - base for start, _ in minutes] == [120, 60, 0, -60]
    assert [value for _, value in minutes] == [6.0, 4.0, 5.0, None]  # None: not sampled that far back
    assert history.per_minute("refresh.replayed", base + 125, 1) == [(base + 120, 0.0)]


def test_the_minute_sampling_began_in_counts_from_the_first_sample() -> None:
    history = metrics.History()
    base = 1_800_000_000.0
    for second, total in [(25, 100), (35, 103), (65, 110)]:
        history.add(base + second, {"login.succeeded": float(total)})
    assert [v for _, v in history.per_minute("login.succeeded", base + 65, 3)] == [7.0, 3.0, None]


def test_old_samples_are_dropped() -> None:
    history = metrics.History(keep_seconds=120)
    for second in range(0, 600, 10):
        history.add(float(second), {"x": float(second)})
    assert history.per_minute("x", 590, 10)[-1][1] is None


def test_totals_count_what_metrics_count() -> None:
    before = metrics.counter_totals()
    metrics.security_event("login.failed")
    metrics.observe_request("POST", "/api/platform/applications/authtickets", 429, 0.01)
    metrics.observe_request("POST", "/api/platform/applications/authtickets", 200, 0.01)
    after = metrics.counter_totals()
    assert after["login.failed"] - before.get("login.failed", 0) == 1
    assert after[metrics.HTTP_429] - before[metrics.HTTP_429] == 1
    assert "account.locked" not in after  # never a metric: it would tell that an account exists
