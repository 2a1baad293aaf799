"""Forgotten passwords over HTTP: Reset-Password mails a code (read here from a real SMTP server),
Update-Forgotten-Password spends it. Ends with the same flow against a `ticketbooth serve` process
whose background sender delivers to the SMTP server."""

from __future__ import annotations

import email
import email.policy
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from tests.api.support import (
    CUSTOMER,
    INVALID_CODE,
    RESET_PASSWORD,
    UPDATE_FORGOTTEN_PASSWORD,
    assert_error,
    login,
    ok,
    refresh,
    register,
)
from tests.conftest import (
    ADMIN,
    OTHER,
    OTHER_TENANT,
    PASSWORD,
    SITE_OTHER_SET,
    STOREFRONT,
    TENANT,
    LiveServer,
    app_token,
    headers,
    seed_cli,
    start_server,
    stop_server,
)
from tests.smtp import CODE, Delivered, SmtpServer
from tests.smtp import Mailbox as SmtpMailbox
from ticketbooth.core import Core
from ticketbooth.db import tables as t
from ticketbooth.domain.models import NewAccount, Profile
from ticketbooth.domain.policies import login_key
from ticketbooth.infra.clock import ManualClock
from ticketbooth.infra.tokens import new_hex

pytestmark = pytest.mark.usefixtures("seeded")

EMAIL = "forgetful@example.com"
NEW_PASSWORD = "a brand new passphrase"


class Mailbox(SmtpMailbox):
    async def one(self, to: str = EMAIL) -> Delivered:
        return await super().one(to)


@pytest.fixture
def mailbox(core: Core, smtp_server: SmtpServer) -> Mailbox:
    """This file's mailbox: `one()` expects a message to EMAIL unless told otherwise."""
    return Mailbox(core, smtp_server)


async def ask_reset(client: httpx.AsyncClient, hdrs: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post(RESET_PASSWORD, headers=hdrs, json=body or {"emailAddress": EMAIL})


async def set_password(client: httpx.AsyncClient, hdrs: dict[str, str], code: str, user: str = EMAIL,
                       password: str = NEW_PASSWORD) -> httpx.Response:
    return await client.post(UPDATE_FORGOTTEN_PASSWORD, headers=hdrs, json={"userName": user, "confirmationCode": code,
                                                          "newPassword": password})


def assert_empty_ok(r: httpx.Response) -> None:
    assert r.status_code == 200, r.text
    assert r.content == b""


async def outbox_count(core: Core) -> int:
    async with core.store.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(t.outbox))).scalar_one())


async def account_of(core: Core, email: str) -> int:
    tenant = await core.store.get_tenant(TENANT)
    assert tenant is not None
    found = await core.store.find_login(tenant.default_customer_set_id, login_key(email))
    assert found is not None
    return found[0].id


async def change_account(core: Core, account_id: int, **values: Any) -> None:
    async with core.store.engine.begin() as conn:
        await conn.execute(update(t.accounts).where(t.accounts.c.id == account_id).values(**values))


# -- the whole flow -----------------------------------------------------------------------------------

async def test_forgotten_password_from_the_email_alone(
        client: httpx.AsyncClient, app_headers: dict[str, str], mailbox: Mailbox, clock: ManualClock) -> None:
    ticket = await register(client, app_headers, EMAIL, firstName="Fay")
    assert_empty_ok(await ask_reset(client, app_headers))

    mail = await mailbox.one()
    assert mail.message["Subject"] == "Reset your Test tenant password"
    assert mail.message["From"] == "Test tenant <no-reply@localhost>"
    assert "Hello Fay," in mail.text and "72 hours" in mail.text
    code = mail.code()
    assert code in mail.html
    assert f"account {EMAIL}" in mail.text

    clock.advance(timedelta(minutes=10))
    assert_empty_ok(await set_password(client, app_headers, code))

    assert ok(await login(client, app_headers, EMAIL, NEW_PASSWORD))["customerAccount"]["emailAddress"] == EMAIL
    assert_error(await login(client, app_headers, EMAIL, PASSWORD), 401, "INVALID_CREDENTIALS")
    assert_error(await refresh(client, app_headers, ticket["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    assert_error(await set_password(client, app_headers, code, password="yet another passphrase"), 400,
                 "MISSING_OR_INVALID_PARAMETER", "confirmationCode")
    assert_error(await login(client, app_headers, EMAIL, "yet another passphrase"), 401, "INVALID_CREDENTIALS")

    notice = await mailbox.one()
    assert notice.message["Subject"] == "Your Test tenant password was changed"
    assert code not in notice.text


async def test_username_login_and_email_both_name_the_user(
        client: httpx.AsyncClient, app_headers: dict[str, str], mailbox: Mailbox) -> None:
    await register(client, app_headers, EMAIL, userName="Fay.Forgets")
    assert_empty_ok(await ask_reset(client, app_headers, userName="fay.forgets"))
    mail = await mailbox.one()
    assert "account Fay.Forgets" in mail.text
    assert_error(await set_password(client, app_headers, mail.code(), user="someone.else"), 400,
                 parameter="confirmationCode")
    assert_empty_ok(await set_password(client, app_headers, mail.code(), user="FAY.FORGETS"))
    ok(await login(client, app_headers, "Fay.Forgets", NEW_PASSWORD))
    assert "password was changed" in (await mailbox.one()).message["Subject"]

    assert_empty_ok(await ask_reset(client, app_headers, userName="Fay.Forgets", emailAddress=""))
    assert_empty_ok(await set_password(client, app_headers, (await mailbox.one()).code(), user=EMAIL.upper(),
                                       password="third passphrase here"))
    ok(await login(client, app_headers, EMAIL, "third passphrase here"))


# -- no enumeration -------------------------------------------------------------------------------------

async def test_reset_answers_alike_whether_or_not_the_account_can_be_reset(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    await register(client, app_headers, EMAIL)
    await register(client, app_headers, "inactive@example.com")
    await change_account(core, await account_of(core, "inactive@example.com"), is_active=False)
    tenant = await core.store.get_tenant(TENANT)
    assert tenant is not None
    await core.store.insert_account(NewAccount(
        tenant_id=TENANT, customer_set_id=tenant.default_customer_set_id, user_id=new_hex(16),
        email="nologin@example.com", email_key="nologin@example.com", username=None, username_key=None,
        password_hash=None, profile=Profile()), core.clock.now())
    outlet = headers(await app_token(client), site=SITE_OTHER_SET)
    await register(client, outlet, "outlet@example.com")

    known = await ask_reset(client, app_headers)
    assert len(await mailbox.new()) == 1
    rows = await outbox_count(core)
    for email_address in ("nobody@example.com", "inactive@example.com", "nologin@example.com", "outlet@example.com"):
        r = await ask_reset(client, app_headers, emailAddress=email_address)
        assert (r.status_code, r.content) == (known.status_code, known.content)
        assert sorted(k for k in r.headers if k not in ("x-vol-correlation", "date")) == \
            sorted(k for k in known.headers if k not in ("x-vol-correlation", "date"))
    assert await outbox_count(core) == rows
    assert await mailbox.new() == []


async def test_unknown_user_wrong_user_and_bad_code_answer_alike(
        client: httpx.AsyncClient, app_headers: dict[str, str], mailbox: Mailbox) -> None:
    await register(client, app_headers, EMAIL)
    await register(client, app_headers, "other@example.com")
    await ask_reset(client, app_headers)
    code = (await mailbox.one()).code()
    answers = [
        await set_password(client, app_headers, code, user="nobody@example.com"),
        await set_password(client, app_headers, code, user="other@example.com"),
        await set_password(client, app_headers, new_hex(16)),
        await set_password(client, app_headers, "not even hex"),
        await set_password(client, app_headers, "x" * 500),
    ]
    for r in answers:
        body = assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "confirmationCode")
        assert body["message"] == INVALID_CODE
    # two wrong users so far; three more and the code is void, even for its own user
    for _ in range(3):
        assert_error(await set_password(client, app_headers, code, user="other@example.com"), 400,
                     parameter="confirmationCode")
    assert_error(await set_password(client, app_headers, code), 400, parameter="confirmationCode")
    ok(await login(client, app_headers, EMAIL, PASSWORD))


# -- the code ------------------------------------------------------------------------------------------

async def test_a_code_expires_after_the_tenant_setting(
        client: httpx.AsyncClient, app_headers: dict[str, str], mailbox: Mailbox, clock: ManualClock) -> None:
    await register(client, app_headers, EMAIL)
    await ask_reset(client, app_headers)
    code = (await mailbox.one()).code()
    clock.advance(timedelta(hours=72, seconds=1))
    fresh = headers(await app_token(client))  # the application token of an hour ago has expired too
    assert_error(await set_password(client, fresh, code), 400, "MISSING_OR_INVALID_PARAMETER", "confirmationCode")

    await ask_reset(client, fresh)
    code = (await mailbox.one()).code()
    clock.advance(timedelta(hours=71, minutes=59))
    assert_empty_ok(await set_password(client, headers(await app_token(client)), code))


async def test_a_new_request_voids_the_older_code(
        client: httpx.AsyncClient, app_headers: dict[str, str], mailbox: Mailbox) -> None:
    await register(client, app_headers, EMAIL)
    await ask_reset(client, app_headers)
    await ask_reset(client, app_headers)
    first, second = [m.code() for m in await mailbox.new()]
    assert first != second
    assert_error(await set_password(client, app_headers, first), 400, parameter="confirmationCode")
    assert_empty_ok(await set_password(client, app_headers, second.upper()))  # codes compare case-insensitively


async def test_a_weak_password_is_refused_and_the_code_stays_usable(
        client: httpx.AsyncClient, app_headers: dict[str, str], mailbox: Mailbox) -> None:
    await register(client, app_headers, EMAIL)
    await ask_reset(client, app_headers)
    code = (await mailbox.one()).code()
    for weak in ("short", "password123"):
        body = assert_error(await set_password(client, app_headers, code, password=weak), 400,
                            "MISSING_OR_INVALID_PARAMETER", "newPassword")
        assert "newPassword" in body["message"]
    assert_error(await login(client, app_headers, EMAIL, "password123"), 401)
    assert_empty_ok(await set_password(client, app_headers, code))


async def test_reset_unlocks_the_login_and_ends_every_session(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    first = await register(client, app_headers, EMAIL)
    second = ok(await login(client, app_headers, EMAIL))
    account_id = await account_of(core, EMAIL)
    await change_account(core, account_id, is_locked=True, locked_at=core.clock.now(), failed_login_count=9,
                         first_failed_login_at=core.clock.now(), password_change_required=True)
    assert_error(await login(client, app_headers, EMAIL), 401, "INVALID_CREDENTIALS")

    await ask_reset(client, app_headers)  # a locked account may reset: that is how it unlocks
    assert_empty_ok(await set_password(client, app_headers, (await mailbox.one()).code()))
    account = await core.store.get_account(account_id)
    assert account is not None
    assert (account.is_locked, account.locked_at, account.failed_login_count, account.password_change_required) == \
        (False, None, 0, False)
    assert account.password_changed_at == core.clock.now()
    assert account.updated_by == STOREFRONT[0]
    for ticket in (first, second):
        assert_error(await refresh(client, app_headers, ticket["refreshToken"]), 401, "INVALID_REFRESH_TOKEN")
    ok(await login(client, app_headers, EMAIL, NEW_PASSWORD))


async def test_a_code_is_good_only_in_its_tenant(
        client: httpx.AsyncClient, app_headers: dict[str, str], mailbox: Mailbox) -> None:
    await register(client, app_headers, EMAIL)
    await ask_reset(client, app_headers)
    code = (await mailbox.one()).code()
    other = headers(await app_token(client, OTHER), tenant=OTHER_TENANT, site=400)
    assert_error(await set_password(client, other, code), 400, "MISSING_OR_INVALID_PARAMETER", "confirmationCode")
    assert_empty_ok(await set_password(client, app_headers, code))


# -- customer sets, locales, links ---------------------------------------------------------------------

async def test_a_named_customer_set(client: httpx.AsyncClient, app_headers: dict[str, str], mailbox: Mailbox) -> None:
    outlet = headers(await app_token(client), site=SITE_OTHER_SET)
    await register(client, outlet, EMAIL)
    assert_empty_ok(await ask_reset(client, app_headers))
    assert await mailbox.new() == []  # not in site 200's customer set
    assert_empty_ok(await ask_reset(client, app_headers, emailAddress=EMAIL, customerSetCode="outlet"))
    code = (await mailbox.one()).code()
    assert_empty_ok(await set_password(client, outlet, code))
    ok(await login(client, outlet, EMAIL, NEW_PASSWORD))
    assert_error(await ask_reset(client, app_headers, emailAddress=EMAIL, customerSetCode="nope"), 400,
                 "MISSING_OR_INVALID_PARAMETER", "customerSetCode")


@pytest.mark.parametrize(("locale", "subject", "words"), [
    ("de-DE", "Ihr Passwort bei Test tenant zurücksetzen", "Ihr Bestätigungscode lautet"),
    ("fr-CA", "Réinitialiser votre mot de passe Test tenant", "Votre code de confirmation"),
    ("pt-BR", "Reset your Test tenant password", "Your confirmation code is"),
])
async def test_the_mail_speaks_the_account_locale(
        client: httpx.AsyncClient, app_headers: dict[str, str], mailbox: Mailbox, locale: str, subject: str,
        words: str) -> None:
    await register(client, app_headers, EMAIL, localeCode=locale)
    await ask_reset(client, app_headers)
    mail = await mailbox.one()
    assert mail.message["Subject"] == subject
    assert words in mail.text
    assert_empty_ok(await set_password(client, app_headers, mail.code()))


async def test_tenant_reset_link_and_sender(
        client: httpx.AsyncClient, app_headers: dict[str, str], core: Core, mailbox: Mailbox) -> None:
    tenant = await core.store.get_tenant(TENANT)
    assert tenant is not None
    settings = tenant.settings.model_dump()
    settings["mail"] = {"from_address": "help@shop.example", "from_name": "Shop Help",
                        "reset_url": "https://shop.example/reset?code={code}&user={userName}"}
    async with core.store.engine.begin() as conn:
        await conn.execute(update(t.tenants).where(t.tenants.c.id == TENANT).values(settings=settings))
    core.directory.forget()
    await register(client, app_headers, "a+b@example.com")
    await ask_reset(client, app_headers, emailAddress="a+b@example.com")
    mail = await mailbox.one("a+b@example.com")
    code = mail.code()
    link = f"https://shop.example/reset?code={code}&user=a%2Bb%40example.com"
    assert link in mail.text and link.replace("&", "&amp;") in mail.html
    assert mail.message["From"] == "Shop Help <help@shop.example>" and mail.mail_from == "help@shop.example"
    assert mail.message["Message-ID"].endswith("@shop.example>")


# -- the wire ------------------------------------------------------------------------------------------

async def test_missing_and_malformed_parameters(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    assert_error(await client.post(RESET_PASSWORD, headers=app_headers, json={}), 400, "MISSING_OR_INVALID_PARAMETER",
                 "emailAddress")
    assert_error(await client.post(RESET_PASSWORD, headers=app_headers, json={"emailAddress": " ", "userName": None}), 400,
                 parameter="emailAddress")
    assert_error(await client.post(RESET_PASSWORD, headers=app_headers, json={"emailAddress": "x" * 400}), 400,
                 parameter="emailAddress")
    assert_error(await client.post(RESET_PASSWORD, headers=app_headers, json={"emailAddress": 5}), 400, parameter="emailAddress")
    assert_error(await client.post(RESET_PASSWORD, headers=app_headers, content=b"{not json"), 400, parameter="body")
    assert_error(await client.post(RESET_PASSWORD, headers=app_headers, content=b"[1]"), 400, parameter="body")
    complete = {"userName": EMAIL, "confirmationCode": new_hex(16), "newPassword": NEW_PASSWORD}
    for name in complete:
        assert_error(await client.post(UPDATE_FORGOTTEN_PASSWORD, headers=app_headers, json={**complete, name: ""}), 400,
                     "MISSING_OR_INVALID_PARAMETER", name)
    assert_error(await client.post(UPDATE_FORGOTTEN_PASSWORD, headers=app_headers, json={**complete, "newPassword": ["x"]}), 400,
                 parameter="newPassword")


async def test_an_application_token_is_needed(client: httpx.AsyncClient, app_headers: dict[str, str],
                                              mailbox: Mailbox) -> None:
    await register(client, app_headers, EMAIL)
    for path in (RESET_PASSWORD, UPDATE_FORGOTTEN_PASSWORD):
        assert_error(await client.post(path, json={"emailAddress": EMAIL}), 401, "UNAUTHORIZED")
        assert_error(await client.post(path, headers={**app_headers, "Authorization": "Bearer nope"},
                                       json={"emailAddress": EMAIL}), 401, "UNAUTHORIZED")
    other = headers(await app_token(client, OTHER))  # an application of tenant 300 asking for tenant 100
    assert_error(await client.post(RESET_PASSWORD, headers=other, json={"emailAddress": EMAIL}), 401, "UNAUTHORIZED")
    assert await mailbox.new() == []


async def test_kibo_tolerances(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    admin = headers(await app_token(client, ADMIN))
    await register(client, admin, EMAIL)
    r = await client.post(f"{CUSTOMER}/accounts/reset-password/?responseFields=message", headers={
        **admin, "Content-Type": "application/json; charset=utf-8"}, content=b'{"EMAILADDRESS": "FORGETFUL@example.com"}')
    assert_empty_ok(r)
    code = (await mailbox.one()).code()
    r = await client.post(f"{CUSTOMER}/ACCOUNTS/update-FORGOTTEN-password", params={"responsefields": ""},
                          headers=admin, json={"username": EMAIL, "CONFIRMATIONCODE": code, "NewPassword": NEW_PASSWORD})
    assert_empty_ok(r)
    ok(await login(client, admin, EMAIL, NEW_PASSWORD))


# -- a real server process ------------------------------------------------------------------------------

@pytest.fixture
def mail_server(database_url: str, tmp_path: Path, smtp_server: SmtpServer) -> Iterator[LiveServer]:
    """`ticketbooth serve` with TICKETBOOTH_SMTP_* pointing at the test's SMTP server."""
    seed_cli({**os.environ, "TICKETBOOTH_DATABASE_URL": database_url}, tmp_path)
    server = start_server(database_url, tmp_path, extra_env={
        "TICKETBOOTH_SMTP_HOST": smtp_server.host, "TICKETBOOTH_SMTP_PORT": str(smtp_server.port),
        "TICKETBOOTH_SMTP_STARTTLS": "false", "TICKETBOOTH_MAIL_POLL_SECONDS": "30"})
    try:
        yield server
    finally:
        stop_server(server)


def _live_headers(server: LiveServer) -> dict[str, str]:
    r = httpx.post(f"{server.base_url}/api/platform/applications/authtickets/oauth", json={
        "client_id": STOREFRONT[0], "client_secret": STOREFRONT[1], "grant_type": "client_credentials"})
    return headers(r.json()["access_token"])


@pytest.mark.usefixtures("database_url")
def test_live_server_mails_the_code_through_smtp(mail_server: LiveServer, smtp_server: SmtpServer) -> None:
    base, hdrs = mail_server.base_url, _live_headers(mail_server)
    r = httpx.post(f"{base}/api/commerce/customer/accounts/Add-Account-And-Login", headers=hdrs, timeout=30,
                   json={"account": {"emailAddress": EMAIL}, "password": PASSWORD})
    assert r.status_code == 200, r.text
    r = httpx.post(f"{base}{RESET_PASSWORD}", headers=hdrs, json={"emailAddress": EMAIL}, timeout=30)
    assert (r.status_code, r.content) == (200, b"")
    [mail] = smtp_server.wait_for(1)  # woken by the request: long before the 30 s poll
    r = httpx.post(f"{base}{UPDATE_FORGOTTEN_PASSWORD}", headers=hdrs, timeout=30,
                   json={"userName": EMAIL, "confirmationCode": mail.code(), "newPassword": NEW_PASSWORD})
    assert (r.status_code, r.content) == (200, b""), r.text
    r = httpx.post(f"{base}{CUSTOMER}/authtickets", headers=hdrs, json={"username": EMAIL, "password": NEW_PASSWORD},
                   timeout=30)
    assert r.status_code == 200, r.text
    assert smtp_server.wait_for(2)[1].message["Subject"] == "Your Test tenant password was changed"


@pytest.mark.usefixtures("database_url")
def test_live_server_without_smtp_writes_eml_files(database_url: str, tmp_path: Path) -> None:
    seed_cli({**os.environ, "TICKETBOOTH_DATABASE_URL": database_url}, tmp_path)
    server = start_server(database_url, tmp_path, extra_env={"TICKETBOOTH_LOG_LEVEL": "info"})
    try:
        hdrs = _live_headers(server)
        r = httpx.post(f"{server.base_url}/api/commerce/customer/accounts/Add-Account-And-Login", headers=hdrs,
                       json={"account": {"emailAddress": EMAIL}, "password": PASSWORD}, timeout=30)
        assert r.status_code == 200, r.text
        assert httpx.post(f"{server.base_url}{RESET_PASSWORD}", headers=hdrs, json={"emailAddress": EMAIL},
                          timeout=30).status_code == 200
        mail_dir = tmp_path / "var" / "mail"
        files = _wait_for_files(mail_dir)
    finally:
        stop_server(server)
    [path] = files
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert parsed["To"] == EMAIL
    body = parsed.get_body(("plain",))
    assert body is not None and len(CODE.findall(body.get_content())) == 1
    log = next(tmp_path.glob("server-*.log")).read_text()
    assert str(path) in log
    assert CODE.findall(body.get_content())[0] not in log


def _wait_for_files(directory: Path, seconds: float = 20.0) -> list[Path]:
    import time

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = sorted(directory.glob("*.eml")) if directory.exists() else []
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no .eml file appeared in {directory}")
