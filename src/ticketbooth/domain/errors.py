"""Every error a client can cause, named once. `kibo/errors.py` maps each to an HTTP status and Kibo code."""

from __future__ import annotations


class TicketboothError(Exception):
    """Base of every client-caused error. `message` is safe to show to the caller."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(TicketboothError):
    """Missing, bad, expired or disabled application credential."""


class Forbidden(TicketboothError):
    """The caller is known but lacks the behavior or ownership needed."""


class InvalidCredentials(TicketboothError):
    """Wrong username or password, unknown user, locked or disabled account: one answer for all."""


class PasswordChangeRequired(TicketboothError):
    """The password was right, but the account must change it (Change-Password) before logging in."""


class InvalidAccessToken(TicketboothError):
    """Bad, expired or revoked shopper access token."""


class InvalidRefreshToken(TicketboothError):
    """Bad, expired, revoked or reused refresh token."""


class NotFound(TicketboothError):
    """A named resource does not exist (or is not visible to the caller)."""


class InvalidParameter(TicketboothError):
    """A request parameter is missing or malformed."""

    def __init__(self, name: str, message: str, value: object = None) -> None:
        super().__init__(message)
        self.name = name
        self.value = value


class CardNumberRefused(InvalidParameter):
    """A card field holds what looks like a full payment card number: never stored, logged or repeated
    back (the message names the field only)."""


class RequestTooLarge(TicketboothError):
    """The request body is larger than the configured limit (`max_body_bytes`)."""


class Conflict(TicketboothError):
    """The request conflicts with existing state (duplicate email or username)."""


class AddCustomerFailed(TicketboothError):
    """The account could not be created as asked (for example the password fails the policy)."""


class Overloaded(TicketboothError):
    """Too much work queued (for example password hashing); retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(TicketboothError):
    """A dependency (the database) cannot be reached right now."""


class TooManyRequests(TicketboothError):
    """A rate limit was reached; the caller may retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = max(1, retry_after)


class InvalidOtp(TicketboothError):
    """A wrong, expired or used-up 2FA or one-time-passcode code (or its pending ticket)."""


class PasskeyRefused(InvalidParameter):
    """A WebAuthn answer (a passkey's registration or assertion) failed a check of the ceremony: wrong
    origin, relying party, challenge or type, no user verification, a bad signature, a sign counter that
    did not grow, or malformed data. `reason` is a short fixed word for the audit trail (never the data);
    a sign-in turns it into `InvalidCredentials`, like a wrong password."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__("credential", message or f"Missing or invalid parameter: credential, the passkey's answer, "
                                                  f"was refused ({reason})")
        self.reason = reason
