"""`ticketbooth serve --workers N` divides the cores' hashes among its processes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from ticketbooth import cli


@pytest.mark.parametrize(("workers", "given", "expected"), [
    (2, None, str(max(1, (os.cpu_count() or 1) // 2))),
    (64, None, "1"),
    (2, "3", "3"),  # set by the operator: kept
])
def test_workers_share_the_cores_hashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int,
                                        given: str | None, expected: str) -> None:
    started: dict[str, Any] = {}

    def run(app: str, **kwargs: Any) -> None:  # uvicorn.run: what the workers would inherit
        started.update(kwargs, hash_concurrency=os.environ.get("TICKETBOOTH_HASH_CONCURRENCY"))

    monkeypatch.setattr("uvicorn.run", run)
    monkeypatch.setenv("TICKETBOOTH_DATABASE_URL", f"sqlite:///{tmp_path / 'serve.db'}")
    monkeypatch.setenv("TICKETBOOTH_REDIS_URL", "redis://127.0.0.1:1/0")  # never reached before uvicorn.run
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    if given is None:
        monkeypatch.delenv("TICKETBOOTH_HASH_CONCURRENCY", raising=False)
    else:
        monkeypatch.setenv("TICKETBOOTH_HASH_CONCURRENCY", given)
    monkeypatch.setattr(os, "environ", os.environ.copy())  # the command writes to it: keep it to this test
    assert cli.main(["serve", "--workers", str(workers), "--port", "0"]) == 0
    assert started["workers"] == workers
    assert started["hash_concurrency"] == expected
