"""The `ticketbooth staff` commands, through the CLI's entry point on a real database (both backends)."""

from __future__ import annotations

import json
import re

import pytest

from ticketbooth.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out if code == 0 else err)


def test_staff_commands(database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                        tmp_path: object) -> None:
    monkeypatch.setenv("TICKETBOOTH_DATABASE_URL", database_url)
    monkeypatch.setenv("TICKETBOOTH_PUBLIC_HOST", "console.example.test")
    code, out = run(capsys, "staff", "create", "--email", "a@staff.example.test", "--role", "admin")
    assert code == 2 and "tenant" in str(out["error"])  # no tenant yet
    assert run(capsys, "tenant", "create", "--tenant-id", "100", "--site-id", "200")[0] == 0

    code, out = run(capsys, "staff", "create", "--email", "Ann@Staff.Example.test", "--role", "support")
    assert code == 0
    assert out["email"] == "ann@staff.example.test" and out["role"] == "support" and out["status"] == "invited"
    assert re.fullmatch(r"http://console\.example\.test/console/enrol/[A-Za-z0-9_-]{40,}", str(out["enrolmentLink"]))

    code, out = run(capsys, "staff", "create", "--email", "ann@staff.example.test", "--role", "viewer")
    assert code == 2 and "exists" in str(out["error"])
    with pytest.raises(SystemExit):
        main(["staff", "create", "--email", "b@staff.example.test", "--role", "owner"])
    capsys.readouterr()

    code, out = run(capsys, "staff", "list")
    assert code == 0 and out["totalCount"] == 1
    assert out["items"][0]["passkeys"] == 0  # type: ignore[index]
    code, out = run(capsys, "staff", "remove-passkeys", "--email", "ann@staff.example.test")
    assert code == 0 and out["passkeysRemoved"] == 0 and out["passkeys"] == 0
    code, out = run(capsys, "staff", "remove-passkeys", "--email", "nobody@staff.example.test")
    assert code == 2 and "no staff member" in str(out["error"])
    code, out = run(capsys, "staff", "sessions", "--email", "ann@staff.example.test")
    assert code == 0 and out["items"] == []
    code, out = run(capsys, "staff", "disable", "--email", "ann@staff.example.test")
    assert code == 2 and "not enrolled" in str(out["error"])
    code, out = run(capsys, "staff", "reset-2fa", "--email", "ann@staff.example.test")
    assert code == 0 and "/console/enrol/" in str(out["enrolmentLink"])
    code, out = run(capsys, "staff", "revoke", "--email", "ann@staff.example.test")
    assert code == 0 and out["sessionsEnded"] == 0
    code, out = run(capsys, "staff", "revoke", "--session-id", "999")
    assert code == 2 and "no such" in str(out["error"])
    code, out = run(capsys, "staff", "sessions", "--email", "nobody@staff.example.test")
    assert code == 2
