"""The pure rules of mail to shoppers: which locale folders a message's templates are looked up in, and
how long a failed delivery waits before the next try. The flows (queue, send) are in mail/service.py,
the templates and the wake-up signal in mail/room.py; the randomness of the retry jitter is
given by the sender (`retry_delay`'s `rng`), so the rule takes none of its own."""

from __future__ import annotations

import random
import re
from datetime import timedelta

RETRY_BASE_SECONDS = 60
RETRY_MAX_SECONDS = 6 * 3600
_LOCALE = re.compile(r"^[a-z]{2,8}(?:-[a-z0-9]{1,8}){0,4}$")


def locale_candidates(locale: str | None) -> list[str]:
    """The locale directories to look in, most specific first: `fr_CA` -> ["fr-ca", "fr"]. Anything
    that is not a plain language tag gives none (the default templates are used)."""
    if not locale:
        return []
    tag = locale.strip().replace("_", "-").lower()
    if not _LOCALE.match(tag):
        return []
    parts = tag.split("-")
    return ["-".join(parts[:n]) for n in range(len(parts), 0, -1)]


def retry_delay(attempts: int, rng: random.Random, base: float = RETRY_BASE_SECONDS) -> timedelta:
    """How long to wait after the `attempts`-th failed delivery: doubling from `base` seconds (the
    `mail_retry_seconds` setting, a minute by default) up to six hours, each drawn in [half, all] of
    it so that senders do not retry in lockstep."""
    full = min(RETRY_MAX_SECONDS, base * 2 ** max(0, min(attempts - 1, 30)))
    return timedelta(seconds=full * rng.uniform(0.5, 1.0))
