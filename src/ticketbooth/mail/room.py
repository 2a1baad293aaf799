"""The mail room every process keeps: the templates, the key that seals queued messages at rest, and
the signal that wakes this process's sender. `core.Core` holds one (`core.mail`); `services.mail`
queues and delivers messages through it.

Templates live in `mail/templates/<kind>/` as `subject.txt`, `body.txt` and `body.html`, each
overridable per locale in `<kind>/<locale>/` (lower case, `fr-ca` falls back to `fr`, then to the
default), and all of them by the directory in the `mail_template_dir` setting.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import Mapping
from typing import Any

from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined, select_autoescape

from ticketbooth.domain.models import OutboxMessage
from ticketbooth.infra.mail import MESSAGE_ID_INFO, RenderedMail, Sealer
from ticketbooth.mail.rules import locale_candidates

SUBJECT_MAX = 200
WAKE_DELAY_SECONDS = 0.05


# -- templates ----------------------------------------------------------------------------------------

class Templates:
    """The mail templates: Jinja2, HTML autoescaped, and every name a template uses must be given."""

    def __init__(self, override_dir: str = "") -> None:
        loaders: list[BaseLoader] = [PackageLoader("ticketbooth", "mail/templates")]
        if override_dir:
            loaders.insert(0, FileSystemLoader(override_dir))
        self._env = Environment(
            loader=ChoiceLoader(loaders), undefined=StrictUndefined, auto_reload=False,
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
            keep_trailing_newline=True,
        )

    def render(self, kind: str, locale: str | None, values: Mapping[str, Any]) -> tuple[str, str, str]:
        """(subject, text, html) of message `kind` in the best locale available for `locale`."""
        out = []
        for file in ("subject.txt", "body.txt", "body.html"):
            names = [f"{kind}/{loc}/{file}" for loc in locale_candidates(locale)] + [f"{kind}/{file}"]
            out.append(self._env.select_template(names).render(values))
        subject = " ".join(out[0].split())[:SUBJECT_MAX]  # one line: no header can be injected
        return subject, out[1], out[2]


# -- sealing and waking ---------------------------------------------------------------------------------------

class Mail:
    """What every process needs to queue and send mail: the templates, the key that seals messages
    at rest, and the signal that wakes this process's sender when a message is queued."""

    def __init__(self, secret: bytes, templates: Templates) -> None:
        self.templates = templates
        self._sealer = Sealer(secret)
        self.tag = hmac.new(secret, MESSAGE_ID_INFO, "sha256").hexdigest()[:12]
        self._wake = asyncio.Event()

    @staticmethod
    def _context(tenant_id: int, kind: str) -> bytes:
        return f"outbox:{tenant_id}:{kind}".encode()

    def seal(self, tenant_id: int, kind: str, mail: RenderedMail) -> bytes:
        return self._sealer.seal(mail.to_bytes(), self._context(tenant_id, kind))

    def open(self, message: OutboxMessage) -> RenderedMail:
        return RenderedMail.from_bytes(self._sealer.open(message.message, self._context(message.tenant_id, message.kind)))

    def wake(self) -> None:
        """Tell this process's sender that mail is waiting (call it after the transaction commits). The
        sender starts `WAKE_DELAY_SECONDS` later, once the answer of the request that queued the mail has
        gone out: delivering on the same event loop must not make that answer slower than the answer for
        an unknown account, which queues nothing (no enumeration by timing)."""
        try:
            asyncio.get_running_loop().call_later(WAKE_DELAY_SECONDS, self._wake.set)
        except RuntimeError:  # no loop running (a script): wake at once
            self._wake.set()

    async def wait(self, seconds: float) -> None:
        """Until `wake` is called, or `seconds` have passed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)
        self._wake.clear()
