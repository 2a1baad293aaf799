"""`ticketbooth tenant settings` and `ticketbooth site settings`: print the effective settings, change
them with --set/--unset, validated by the pydantic models, and the change takes effect."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.api.support import REGISTER, assert_error, ok
from tests.conftest import OTHER_SITE, SITE, TENANT, Seed
from ticketbooth.applications import admin
from ticketbooth.cli import main
from ticketbooth.core import Core
from ticketbooth.db import tables
from ticketbooth.domain.policies import SiteSettings, TenantSettings


@pytest.fixture(autouse=True)
def _cli_database(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    monkeypatch.setenv("TICKETBOOTH_DATABASE_URL", database_url)


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    """Run `ticketbooth ARGV` in-process (main() runs its own event loop, so in a thread); its exit
    code and the JSON it printed (stdout on success, the error object on stderr otherwise)."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, json.loads(out if code == 0 else err)


async def test_tenant_settings_prints_the_effective_settings(seeded: Seed, capsys: pytest.CaptureFixture[str]) -> None:
    code, shown = await cli(capsys, "tenant", "settings", str(TENANT))
    assert code == 0
    assert shown == {"tenantId": TENANT, "settings": TenantSettings().model_dump(mode="json")}
    assert shown["settings"]["password"]["min_length"] == 8
    assert shown["settings"]["rate_limits"]["login"]["enabled"] is True


async def test_set_changes_are_stored_validated_and_shown(core: Core, seeded: Seed,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, shown = await cli(capsys, "tenant", "settings", str(TENANT), "--set", "password.min_length=12",
                            "--set", "lockout.lock_minutes=0", "--set", "mail.from_address=shop@example.com",
                            "--set", 'mail.from_name="1234"', "--set", "rate_limits.login.enabled=false")
    assert code == 0
    settings = shown["settings"]
    assert settings["password"]["min_length"] == 12
    assert settings["lockout"]["lock_minutes"] == 0
    assert settings["mail"]["from_address"] == "shop@example.com"
    assert settings["mail"]["from_name"] == "1234"
    assert settings["rate_limits"]["login"]["enabled"] is False
    assert settings["rate_limits"]["login"]["per_account"] is not None  # the rest of the class keeps its defaults
    stored = await core.store.get_tenant(TENANT)
    assert stored is not None
    assert stored.settings.password.min_length == 12 and stored.settings.lockout.lock_minutes == 0
    assert stored.settings.rate_limits.login.enabled is False
    # and read back by a later command
    code, again = await cli(capsys, "tenant", "settings", str(TENANT))
    assert code == 0 and again == shown


async def test_a_change_takes_effect_on_the_service(core: Core, client: httpx.AsyncClient, app_headers: dict[str, str],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = await cli(capsys, "tenant", "settings", str(TENANT), "--set", "password.min_length=30")
    assert code == 0
    core.directory.forget()  # the test's server is another process's cache; the CLI clears only its own
    body = {"account": {"emailAddress": "new@example.com", "userName": "new@example.com"},
            "password": "a perfectly fine passphrase"}
    message = assert_error(await client.post(REGISTER, json=body, headers=app_headers), 400, "ADD_CUSTOMER_FAILED")["message"]
    assert "at least 30 characters" in message
    code, _ = await cli(capsys, "tenant", "settings", str(TENANT), "--unset", "password.min_length")
    assert code == 0
    core.directory.forget()
    ok(await client.post(REGISTER, json=body, headers=app_headers))


@pytest.mark.parametrize(("change", "words"), [
    ("password.min_length=3", "password.min_length"),
    ("password.min_length=twelve", "password.min_length"),
    ("password.no_such_rule=1", "password.no_such_rule"),
    ("lockout=5", "lockout"),
    ('password={"min_length": 100, "max_length": 64}', "min_length must not exceed max_length"),
    ("mail.reset_url=ftp://x", "reset_url"),
    ("Password.Min-Length=9", "not a settings path"),
    ("password.min_length", "not path=VALUE"),
])
async def test_bad_changes_are_refused_and_change_nothing(core: Core, seeded: Seed, capsys: pytest.CaptureFixture[str],
                                                          change: str, words: str) -> None:
    before = await core.store.stored_settings("tenant", TENANT)
    code, error = await cli(capsys, "tenant", "settings", str(TENANT), "--set", "lockout.lock_minutes=5", "--set", change)
    assert code == 2
    assert words in error["error"]
    assert await core.store.stored_settings("tenant", TENANT) == before


async def test_unknown_tenants_and_sites_are_refused(seeded: Seed, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["tenant", "settings", "999"], ["site", "settings", "999", "--set", "otp_login=false"],
                 ["tenant", "settings", "0"]):
        code, error = await cli(capsys, *argv)
        assert code == 2, argv
        assert "999" in error["error"] or "positive" in error["error"]


async def test_unset_takes_a_setting_back_to_its_default(seeded: Seed, capsys: pytest.CaptureFixture[str]) -> None:
    await cli(capsys, "tenant", "settings", str(TENANT), "--set", "codes.reset_code_hours=1",
              "--set", "tokens.access_token_minutes=5")
    code, shown = await cli(capsys, "tenant", "settings", str(TENANT), "--unset", "codes.reset_code_hours",
                            "--unset", "no.such.path")
    assert code == 0
    assert shown["settings"]["codes"]["reset_code_hours"] == 72
    assert shown["settings"]["tokens"]["access_token_minutes"] == 5


async def test_site_settings_are_shown_changed_and_validated(core: Core, seeded: Seed,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, shown = await cli(capsys, "site", "settings", str(SITE))
    assert code == 0
    assert shown == {"siteId": SITE, "tenantId": TENANT, "settings": SiteSettings().model_dump(mode="json")}

    code, shown = await cli(capsys, "site", "settings", str(SITE), "--set", 'two_factor=["always", "new-device"]',
                            "--set", "otp_login=false")
    assert code == 0
    assert shown["settings"]["two_factor"] == ["always", "new-device"]
    assert shown["settings"]["otp_login"] is False
    site = await core.store.get_site(SITE)
    assert site is not None and site.settings.two_factor == ["always", "new-device"] and site.settings.otp_login is False
    other = await core.store.get_site(OTHER_SITE)
    assert other is not None and other.settings == SiteSettings()

    code, error = await cli(capsys, "site", "settings", str(SITE), "--set", 'two_factor=["sometimes"]')
    assert code == 2 and "two_factor" in error["error"]


async def test_a_change_is_audited_by_path_without_its_values(core: Core, seeded: Seed,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    await cli(capsys, "tenant", "settings", str(TENANT), "--set", "mail.from_address=secret-ish@example.com",
              "--unset", "lockout.lock_minutes")
    async with core.store.engine.connect() as conn:
        rows = (await conn.execute(select(tables.audit_entries).where(
            tables.audit_entries.c.event == "settings.changed"))).all()
    assert len(rows) == 1
    assert rows[0].tenant_id == TENANT and rows[0].account_id is None and rows[0].actor == "cli"
    assert rows[0].detail == {"scope": "tenant", "tenantId": TENANT, "paths": ["lockout.lock_minutes", "mail.from_address"]}
    assert "secret-ish" not in json.dumps(rows[0].detail)


async def test_two_changes_at_once_both_apply(core: Core, seeded: Seed) -> None:
    await asyncio.gather(*(admin.settings_of(core, "tenant", TENANT, [f"{path}=3"])
                           for path in ("tokens.access_token_minutes", "codes.reset_code_hours",
                                        "lockout.max_failed_logins", "codes.reset_max_failed_attempts")))
    tenant = await core.store.get_tenant(TENANT)
    assert tenant is not None
    assert (tenant.settings.tokens.access_token_minutes, tenant.settings.codes.reset_code_hours,
            tenant.settings.lockout.max_failed_logins, tenant.settings.codes.reset_max_failed_attempts) == (3, 3, 3, 3)
