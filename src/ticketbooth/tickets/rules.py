"""The rule of refresh-token rotation, stated once. Pure: the service (tickets/service.py `refresh`)
reads the ticket, asks these, and writes through the store's one rotation per database
(tickets/store/rotation.py), which only marks the presented ticket used and adds its successor, exactly once.

- A refresh token is spent by its first use: the use that marks it used gets a successor
  (generation + 1). Every later presentation of it, and a presentation that lost the race to mark
  it, is a replay.
- A replay is answered with that same successor (derived from the token, so the answer is the same
  ticket) while it is within `grace` of the first use, the successor is unused and the family is not
  revoked: parallel tabs, a lost response, concurrent refreshes with one token. Any other replay ends
  the whole family (RFC 9700 §4.14: the newest token a thief holds dies with it), for the reason
  `REPLAY_REVOKE_REASON`.
- A ticket whose refresh token or family has expired is refused; a registered login's refresh lifetime
  is fixed at login (a refresh does not extend it), an anonymous visit's slides with each refresh.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from ticketbooth.domain.models import REVOKED_BY_REPLAY, TicketRecord, TokenFamily

REPLAY_REVOKE_REASON = REVOKED_BY_REPLAY
"""Why a family ended when one of its spent refresh tokens came back outside the grace rule."""


class Replay(enum.Enum):
    """What a replayed (already used) refresh token gets."""

    SAME_SUCCESSOR = "same-successor"
    """Within the grace: the successor the first use got, handed out again."""
    REVOKE_FAMILY = "revoke-family"
    """Anything else: the whole family ends."""


def refresh_expired(ticket: TicketRecord, family: TokenFamily, now: datetime) -> bool:
    """Whether the ticket's refresh token can no longer be used because it, or its family, expired."""
    return ticket.refresh_expires_at <= now or family.expires_at <= now


def successor_refresh_expiry(family: TokenFamily, now: datetime) -> datetime:
    """When the successor's refresh token expires: an anonymous visit slides by its refresh lifetime
    from now; a login keeps the expiry it was given (24 hours from login by default)."""
    return now + timedelta(seconds=family.refresh_ttl_seconds) if family.is_anonymous else family.expires_at


def family_expiry_after_rotation(family: TokenFamily, now: datetime) -> datetime | None:
    """The family's new expiry once a rotation wins: an anonymous family's slides with its successor;
    None (keep it) for a login's."""
    return successor_refresh_expiry(family, now) if family.is_anonymous else None


def replay_answer(first_used_at: datetime, now: datetime, grace: timedelta,
                  successor: tuple[TicketRecord, TokenFamily] | None) -> Replay:
    """The answer to a spent refresh token presented at `now`, first used at `first_used_at` (a
    presentation that lost the race to mark it counts as first used now), given its successor as stored
    (None when there is none)."""
    if successor is None or now - first_used_at > grace:
        return Replay.REVOKE_FAMILY
    ticket, family = successor
    if ticket.used_at is not None or family.revoked_at is not None:
        return Replay.REVOKE_FAMILY
    return Replay.SAME_SUCCESSOR
