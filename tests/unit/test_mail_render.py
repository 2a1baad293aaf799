"""Mail without a database: templates, sealing at rest, the RFC 5322 message, and the two transports
against a real SMTP server (aiosmtpd) and a real directory."""

from __future__ import annotations

import email
import email.policy
import os
import random
import ssl
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jinja2 import UndefinedError
from pydantic import ValidationError

from tests.conftest import free_port
from tests.smtp import SMTP_PASSWORD, SMTP_USER, SmtpServer
from ticketbooth.config import Settings
from ticketbooth.domain.models import MAIL_PASSWORD_CHANGED, MAIL_PASSWORD_RESET
from ticketbooth.domain.policies import MailSettings, reset_link
from ticketbooth.infra.mail import (
    DeliveryError,
    FileTransport,
    RenderedMail,
    Sealer,
    SealError,
    SmtpTransport,
    build_message,
    message_id,
)
from ticketbooth.mail.room import Templates
from ticketbooth.mail.rules import RETRY_MAX_SECONDS, locale_candidates, retry_delay
from ticketbooth.mail.service import transport_for

VALUES = {"tenant_name": "Test Shop", "code": "0123456789abcdef0123456789abcdef", "user_name": "nina@example.com",
          "first_name": "Nina", "reset_url": None, "expires_hours": 72}
MAIL = RenderedMail(to="nina@example.com", from_address="no-reply@shop.example", from_name="Test Shop",
                    subject="Reset your password", text="code: abc\n", html="<p>code: abc</p>\n")
WHEN = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


# -- templates ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("locale", "expected"), [
    (None, []), ("", []), ("de", ["de"]), ("fr-CA", ["fr-ca", "fr"]), ("fr_CA", ["fr-ca", "fr"]),
    (" DE-de ", ["de-de", "de"]), ("../../etc", []), ("de/../fr", []), ("x" * 40, []), ("d", []),
])
def test_locale_candidates(locale: str | None, expected: list[str]) -> None:
    assert locale_candidates(locale) == expected


def test_reset_mail_in_the_default_locale() -> None:
    subject, text, html = Templates().render(MAIL_PASSWORD_RESET, None, VALUES)
    assert subject == "Reset your Test Shop password"
    assert VALUES["code"] in text and VALUES["code"] in html
    assert "Hello Nina," in text and "72 hours" in text
    assert html.lstrip().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(("locale", "subject"), [
    ("de", "Ihr Passwort bei Test Shop zurücksetzen"),
    ("de-AT", "Ihr Passwort bei Test Shop zurücksetzen"),
    ("fr-CA", "Réinitialiser votre mot de passe Test Shop"),
    ("es-ES", "Reset your Test Shop password"),  # no Spanish templates: the default
])
def test_locale_override_falls_back_to_language_then_default(locale: str, subject: str) -> None:
    assert Templates().render(MAIL_PASSWORD_RESET, locale, VALUES)[0] == subject


def test_html_is_escaped_text_is_not_and_subject_is_one_line() -> None:
    values = {**VALUES, "first_name": "<b>Nina</b>", "tenant_name": "Shop\r\nBcc: victim@example.com"}
    subject, text, html = Templates().render(MAIL_PASSWORD_RESET, None, values)
    assert "&lt;b&gt;Nina&lt;/b&gt;" in html and "<b>Nina</b>" not in html
    assert "Hello <b>Nina</b>," in text
    assert "\n" not in subject and "\r" not in subject
    build_message(RenderedMail("a@example.com", "no-reply@x.example", "x", subject, text, html), "<1@x>", WHEN)


def test_reset_url_appears_only_when_configured() -> None:
    link = "https://shop.example/reset?code=" + str(VALUES["code"])
    _, text, html = Templates().render(MAIL_PASSWORD_RESET, None, {**VALUES, "reset_url": link})
    assert link in text and f'href="{link}"' in html
    _, text, _ = Templates().render(MAIL_PASSWORD_RESET, None, VALUES)
    assert "https://" not in text


def test_a_missing_value_is_an_error_not_an_empty_string() -> None:
    values = dict(VALUES)
    del values["code"]
    with pytest.raises(UndefinedError):
        Templates().render(MAIL_PASSWORD_RESET, None, values)


def test_password_changed_has_its_own_templates() -> None:
    subject, text, _ = Templates().render(MAIL_PASSWORD_CHANGED, "de", {"tenant_name": "Shop", "user_name": "u",
                                                                         "first_name": None})
    assert subject == "Ihr Passwort bei Shop wurde geändert"
    assert "Hallo," in text


def test_override_directory_wins_file_by_file(tmp_path: Path) -> None:
    (tmp_path / MAIL_PASSWORD_RESET / "de").mkdir(parents=True)
    (tmp_path / MAIL_PASSWORD_RESET / "de" / "subject.txt").write_text("Eigener Betreff {{ tenant_name }}\n")
    subject, text, _ = Templates(str(tmp_path)).render(MAIL_PASSWORD_RESET, "de", VALUES)
    assert subject == "Eigener Betreff Test Shop"
    assert "Bestätigungscode" in text  # the bundled German body still applies


def test_templates_ship_in_the_package() -> None:
    from importlib import resources

    root = resources.files("ticketbooth").joinpath("mail/templates")
    for kind in (MAIL_PASSWORD_RESET, MAIL_PASSWORD_CHANGED):
        for name in ("subject.txt", "body.txt", "body.html"):
            assert root.joinpath(kind, name).is_file()


# -- tenant settings ----------------------------------------------------------------------------------

def test_reset_link_encodes_its_values() -> None:
    template = "https://shop.example/reset?code={code}&user={userName}"
    assert reset_link(template, {"code": "abc", "userName": "a+b@x.example"}) == \
        "https://shop.example/reset?code=abc&user=a%2Bb%40x.example"
    assert reset_link("", {"code": "abc"}) is None
    assert reset_link("https://x.example/{code}/{0.__class__}", {"code": "c"}) == "https://x.example/c/{0.__class__}"


@pytest.mark.parametrize("bad", [
    {"reset_url": "javascript:alert(1)//{code}"}, {"reset_url": "https://shop.example/reset"},
    {"from_address": "not an address"}, {"from_address": "a@b\r\nBcc: x@y"}, {"from_name": "x\nBcc: y"},
])
def test_mail_settings_refuse_bad_values(bad: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        MailSettings.model_validate(bad)


# -- sealing at rest ----------------------------------------------------------------------------------

def test_sealed_message_round_trips_and_hides_its_content() -> None:
    sealer = Sealer(b"s" * 32)
    sealed = sealer.seal(MAIL.to_bytes(), b"outbox:100:password-reset")
    assert b"abc" not in sealed and b"nina" not in sealed and b"Reset" not in sealed
    assert RenderedMail.from_bytes(sealer.open(sealed, b"outbox:100:password-reset")) == MAIL
    assert sealer.seal(MAIL.to_bytes(), b"c") != sealer.seal(MAIL.to_bytes(), b"c")  # fresh nonce each time


@pytest.mark.parametrize("how", ["other-secret", "other-context", "flipped-bit", "truncated", "garbage"])
def test_a_sealed_message_opens_only_intact_under_its_key_and_context(how: str) -> None:
    sealer = Sealer(b"s" * 32)
    sealed = sealer.seal(MAIL.to_bytes(), b"outbox:100:password-reset")
    opener, context = sealer, b"outbox:100:password-reset"
    if how == "other-secret":
        opener = Sealer(b"t" * 32)
    elif how == "other-context":
        context = b"outbox:300:password-reset"
    elif how == "flipped-bit":
        sealed = sealed[:-1] + bytes([sealed[-1] ^ 1])
    elif how == "truncated":
        sealed = sealed[:20]
    else:
        sealed = b"\x00" * 64
    with pytest.raises(SealError):
        opener.open(sealed, context)


# -- the message --------------------------------------------------------------------------------------

def test_build_message_is_a_text_and_html_alternative_with_stable_headers() -> None:
    mid = message_id(42, "abcdef012345", MAIL.from_address)
    assert mid == "<ticketbooth.42.abcdef012345@shop.example>" == message_id(42, "abcdef012345", MAIL.from_address)
    parsed = email.message_from_bytes(build_message(MAIL, mid, WHEN).as_bytes(), policy=email.policy.default)
    assert parsed["Message-ID"] == mid
    assert parsed["To"] == "nina@example.com"
    assert parsed["From"] == "Test Shop <no-reply@shop.example>"
    assert parsed["Subject"] == "Reset your password"
    assert parsed["Date"].datetime == WHEN
    assert parsed.get_content_type() == "multipart/alternative"
    plain, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None and plain.get_content() == "code: abc\n"
    assert html is not None and html.get_content() == "<p>code: abc</p>\n"


def test_non_ascii_names_and_bodies_are_encoded() -> None:
    mail = RenderedMail("zoë@example.com", "no-reply@shop.example", "Bäckerei Müller", "Grüße", "Grüße\n", "")
    parsed = email.message_from_bytes(build_message(mail, "<1@x>", WHEN).as_bytes(), policy=email.policy.default)
    assert parsed["From"].addresses[0].display_name == "Bäckerei Müller"
    assert parsed["Subject"] == "Grüße"
    assert parsed.get_content_type() == "text/plain" and parsed.get_content() == "Grüße\n"


# -- file transport -----------------------------------------------------------------------------------

def _read(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mode


async def test_file_transport_writes_a_parsable_eml_atomically(tmp_path: Path) -> None:
    transport = FileTransport(tmp_path / "var" / "mail")
    where = await transport.deliver("outbox-7", build_message(MAIL, "<7@x>", WHEN))
    path = Path(where)
    assert path == tmp_path / "var" / "mail" / "outbox-7.eml"
    data, mode = _read(path)
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert parsed["Message-ID"] == "<7@x>" and parsed["To"] == "nina@example.com"
    assert stat.S_IMODE(mode) == 0o600
    # a resend replaces the file: still one message, no temporary files left
    await transport.deliver("outbox-7", build_message(MAIL, "<7@x>", WHEN))
    assert sorted(os.listdir(path.parent)) == ["outbox-7.eml"]


async def test_file_transport_failure_is_a_delivery_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(DeliveryError) as info:
        await FileTransport(tmp_path / "file" / "mail").deliver("outbox-1", build_message(MAIL, "<1@x>", WHEN))
    assert not info.value.permanent


def test_transport_follows_the_settings(tmp_path: Path) -> None:
    file = transport_for(Settings(mail_dir=str(tmp_path)))
    assert isinstance(file, FileTransport) and file.directory == tmp_path
    settings = Settings(smtp_host="mail.example", smtp_port=2525, smtp_user="u", smtp_password="pw-3141-xyz")
    smtp = transport_for(settings)
    assert isinstance(smtp, SmtpTransport) and (smtp.host, smtp.port) == ("mail.example", 2525)
    assert "pw-3141-xyz" not in smtp.describe() and "pw-3141-xyz" not in repr(settings)


# -- SMTP transport, against a real server ---------------------------------------------------------------

async def test_smtp_transport_delivers(smtp_server: SmtpServer) -> None:
    transport = SmtpTransport(smtp_server.host, smtp_server.port, starttls=False, timeout=5)
    where = await transport.deliver("outbox-1", build_message(MAIL, "<1@x>", WHEN))
    assert where == f"smtp://127.0.0.1:{smtp_server.port}"
    [got] = smtp_server.messages
    assert got.rcpt_tos == ["nina@example.com"] and got.mail_from == "no-reply@shop.example"
    assert got.message["Message-ID"] == "<1@x>"
    assert got.text == "code: abc\n" and got.html == "<p>code: abc</p>\n"


async def test_smtp_transport_with_starttls_and_login(smtp_tls_server: SmtpServer) -> None:
    transport = SmtpTransport(smtp_tls_server.host, smtp_tls_server.port, user=SMTP_USER, password=SMTP_PASSWORD,
                              starttls=True, timeout=5, tls_context=smtp_tls_server.client_tls_context())
    await transport.deliver("outbox-1", build_message(MAIL, "<1@x>", WHEN))
    [got] = smtp_tls_server.messages
    assert got.tls and got.authenticated_as == SMTP_USER


async def test_smtp_transport_refuses_an_untrusted_certificate(smtp_tls_server: SmtpServer) -> None:
    transport = SmtpTransport(smtp_tls_server.host, smtp_tls_server.port, user=SMTP_USER, password=SMTP_PASSWORD,
                              starttls=True, timeout=5, tls_context=ssl.create_default_context())
    with pytest.raises(DeliveryError) as info:
        await transport.deliver("outbox-1", build_message(MAIL, "<1@x>", WHEN))
    assert not info.value.permanent
    assert smtp_tls_server.messages == []


async def test_smtp_wrong_password_is_retried_later_and_not_echoed(smtp_tls_server: SmtpServer) -> None:
    transport = SmtpTransport(smtp_tls_server.host, smtp_tls_server.port, user=SMTP_USER, password="wrong-password-x",
                              starttls=True, timeout=5, tls_context=smtp_tls_server.client_tls_context())
    with pytest.raises(DeliveryError) as info:
        await transport.deliver("outbox-1", build_message(MAIL, "<1@x>", WHEN))
    assert not info.value.permanent and "535" in str(info.value)
    assert "wrong-password-x" not in str(info.value)


async def test_smtp_without_starttls_is_refused_by_a_server_that_requires_it(smtp_tls_server: SmtpServer) -> None:
    transport = SmtpTransport(smtp_tls_server.host, smtp_tls_server.port, starttls=False, timeout=5)
    with pytest.raises(DeliveryError):
        await transport.deliver("outbox-1", build_message(MAIL, "<1@x>", WHEN))
    assert smtp_tls_server.messages == []


async def test_smtp_refusals_temporary_and_permanent(smtp_server: SmtpServer) -> None:
    transport = SmtpTransport(smtp_server.host, smtp_server.port, starttls=False, timeout=5)
    smtp_server.recorder.refuse_next = 1
    with pytest.raises(DeliveryError) as info:
        await transport.deliver("outbox-1", build_message(MAIL, "<1@x>", WHEN))
    assert not info.value.permanent and "451" in str(info.value)
    smtp_server.recorder.reject.add("nina@example.com")
    with pytest.raises(DeliveryError) as info:
        await transport.deliver("outbox-1", build_message(MAIL, "<1@x>", WHEN))
    assert info.value.permanent and "550" in str(info.value)
    assert smtp_server.messages == []


async def test_smtp_server_down_is_a_temporary_failure() -> None:
    transport = SmtpTransport("127.0.0.1", free_port(), starttls=False, timeout=5)
    with pytest.raises(DeliveryError) as info:
        await transport.deliver("outbox-1", build_message(MAIL, "<1@x>", WHEN))
    assert not info.value.permanent


# -- backoff ------------------------------------------------------------------------------------------

def test_retry_delay_doubles_with_jitter_up_to_a_cap() -> None:
    rng = random.Random(7)
    for attempts, full in ((1, 60), (2, 120), (3, 240), (8, 7680), (9, 15360), (10, RETRY_MAX_SECONDS), (50, RETRY_MAX_SECONDS)):
        for _ in range(20):
            delay = retry_delay(attempts, rng)
            assert timedelta(seconds=full / 2) <= delay <= timedelta(seconds=full)
    assert len({retry_delay(3, rng) for _ in range(10)}) > 1
