"""Purchase-order accounts, pure: the records, money as integer minor units, the transaction types and
what each does to the available balance, the overdraft allowance. No I/O.

Money: every amount is kept as an integer number of hundredths (cents), never a float. An amount on
the wire is a JSON number with at most two decimals and at most `MAX_AMOUNT` in size (so that the
double a Kibo client reads back is exact); NaN, Infinity, strings, true/false and a third decimal are
refused with a 400 naming the field.

The balance (Kibo's fields):

- `creditLimit`: what the merchant lends the account;
- `availableBalance`: the credit limit less what is owed. Changing the credit limit moves it by the
  same amount (what is owed stays), so lowering the limit below what is owed leaves it negative;
- `overdraftAllowance` with `overdraftAllowanceType` "Amount" (money) or "Percent" (of the credit limit,
  at most 100): how far below zero `availableBalance` may go; `totalAvailableBalance` is
  `availableBalance` plus that overdraft amount;
- a debit that would take `availableBalance` below minus the overdraft amount is refused (409), and so
  is a credit that would take it above the credit limit (nothing is owed any more).

The transaction types (`transactionTypeId`, Kibo's numbering) and their effect on `availableBalance`,
for a `transactionAmount` > 0 (a manual adjustment is signed):

    1 Line of Credit Change  recorded by the service when creditLimit changes; not posted by clients
    2 Order Submitted        - amount (a debit; refused on a disabled account)
    3 Payment Collected      none (the order's purchase-order payment captured: it was debited when submitted)
    4 Payment Voided         + amount
    5 Payment Refund         + amount
    6 Manual Adjustment      + amount (a credit when positive, a debit when negative; never 0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import IntEnum

from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.domain.models import Audit

CENTS = 100
"""Minor units per currency unit: amounts have at most two decimals."""
MAX_AMOUNT = 10**12
"""The largest amount in currency units (minor units: MAX_AMOUNT * CENTS, below 2**53, so a double holds it)."""
MAX_CENTS = MAX_AMOUNT * CENTS
MAX_PERCENT = 100
PERCENT, AMOUNT = "Percent", "Amount"
OVERDRAFT_TYPES = {"percent": PERCENT, "amount": AMOUNT}
MAX_TEXT = {"orderId": 100, "purchaseOrderNumber": 100, "externalId": 100, "author": 200,
            "additionalTransactionDetail": 1000}


class TransactionType(IntEnum):
    LINE_OF_CREDIT_CHANGE = 1
    ORDER_SUBMITTED = 2
    PAYMENT_COLLECTED = 3
    PAYMENT_VOIDED = 4
    PAYMENT_REFUND = 5
    MANUAL_ADJUSTMENT = 6


DESCRIPTIONS = {
    TransactionType.LINE_OF_CREDIT_CHANGE: "Line of Credit Change",
    TransactionType.ORDER_SUBMITTED: "Order Submitted",
    TransactionType.PAYMENT_COLLECTED: "Payment Collected",
    TransactionType.PAYMENT_VOIDED: "Payment Voided",
    TransactionType.PAYMENT_REFUND: "Payment Refund",
    TransactionType.MANUAL_ADJUSTMENT: "Manual Adjustment",
}


@dataclass(frozen=True, slots=True)
class PaymentTerm:
    """One of the payment terms the account may choose (Kibo's CustomerPurchaseOrderPaymentTerm)."""

    site_id: int | None
    code: str | None
    description: str | None


@dataclass(frozen=True, slots=True)
class Settings:
    """What a merchant sets on a purchase-order account (POST and PUT): everything but the balance."""

    is_enabled: bool
    credit_limit: int
    overdraft_allowance: int | None
    """Hundredths: of a currency unit ("Amount") or of a percent ("Percent")."""
    overdraft_allowance_type: str | None
    payment_terms: tuple[PaymentTerm, ...]

    @property
    def overdraft_amount(self) -> int:
        return overdraft_amount(self.credit_limit, self.overdraft_allowance, self.overdraft_allowance_type)


@dataclass(frozen=True, slots=True)
class PurchaseOrderAccount:
    id: int
    account_id: int
    tenant_id: int
    settings: Settings
    available_balance: int
    audit: Audit

    @property
    def total_available_balance(self) -> int:
        return self.available_balance + self.settings.overdraft_amount


@dataclass(frozen=True, slots=True)
class TransactionDetails:
    """What a client says about a transaction, checked (`check_details`)."""

    type: TransactionType
    amount: int
    order_id: str | None = None
    purchase_order_number: str | None = None
    external_id: str | None = None
    additional_detail: str | None = None
    author: str | None = None

    @property
    def delta(self) -> int:
        """The change of the available balance."""
        return balance_change(self.type, self.amount)


@dataclass(frozen=True, slots=True)
class PurchaseOrderTransaction:
    id: int
    po_account_id: int
    account_id: int
    tenant_id: int
    site_id: int | None
    details: TransactionDetails
    credit_limit: int
    """The account's credit limit after the transaction."""
    available_balance: int
    """The account's available balance after the transaction."""
    transaction_date: datetime
    audit: Audit


def overdraft_amount(credit_limit: int, allowance: int | None, allowance_type: str | None) -> int:
    """How far below zero the available balance may go, in minor units (a percentage of the credit
    limit rounds down to the cent)."""
    if not allowance:
        return 0
    if allowance_type == PERCENT:
        return max(credit_limit, 0) * allowance // (MAX_PERCENT * CENTS)
    return allowance


def balance_change(kind: TransactionType, amount: int) -> int:
    if kind == TransactionType.ORDER_SUBMITTED:
        return -amount
    if kind in (TransactionType.PAYMENT_VOIDED, TransactionType.PAYMENT_REFUND):
        return amount
    if kind in (TransactionType.MANUAL_ADJUSTMENT, TransactionType.LINE_OF_CREDIT_CHANGE):
        return amount
    return 0  # PAYMENT_COLLECTED


def _bad(name: str, why: str) -> InvalidParameter:
    return InvalidParameter(name, f"Missing or invalid parameter: {name} {why}")


def cents(name: str, value: object, *, signed: bool = False, limit: int = MAX_CENTS) -> int:
    """A JSON number as minor units: at most two decimals, at most `limit` minor units in size, not
    negative unless `signed`. Anything else is a 400 naming `name`."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise _bad(name, "must be a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _bad(name, "must be a finite number")
        value = Decimal(repr(value))  # the shortest decimal that reads back as this double: what was sent
    try:
        exact = Decimal(value)
        if not exact.is_finite() or abs(exact) > Decimal(limit) / CENTS:
            raise _bad(name, "is out of range")
        scaled = exact * CENTS
        if scaled != scaled.to_integral_value():
            raise _bad(name, "may have at most two decimals")
    except InvalidOperation:
        raise _bad(name, "must be a number") from None
    minor = int(scaled)
    if minor < 0 and not signed:
        raise _bad(name, "must not be negative")
    return minor


def text(name: str, value: object) -> str | None:
    """An optional text field: None, or a string of at most MAX_TEXT[name] characters, without NUL."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(name, "must be a string")
    if len(value) > MAX_TEXT[name] or "\x00" in value:
        raise _bad(name, f"must be at most {MAX_TEXT[name]} characters, without NUL")
    return value


def check_settings(is_enabled: object, credit_limit: object, allowance: object, allowance_type: object,
                   terms: tuple[PaymentTerm, ...] = ()) -> Settings:
    """A purchase-order account's settings as sent: isEnabled (absent: true), creditLimit (absent: 0),
    overdraftAllowance with its type ("Amount" when absent), the payment terms."""
    if is_enabled is not None and not isinstance(is_enabled, bool):
        raise _bad("isEnabled", "must be true or false")
    limit = 0 if credit_limit is None else cents("creditLimit", credit_limit)
    kind: str | None = None
    if allowance_type is not None:
        if not isinstance(allowance_type, str) or allowance_type.strip().lower() not in OVERDRAFT_TYPES:
            raise _bad("overdraftAllowanceType", 'must be "Percent" or "Amount"')
        kind = OVERDRAFT_TYPES[allowance_type.strip().lower()]
    over: int | None = None
    if allowance is not None:
        kind = kind or AMOUNT
        over = cents("overdraftAllowance", allowance,
                     limit=MAX_PERCENT * CENTS if kind == PERCENT else MAX_CENTS)
    return Settings(is_enabled=True if is_enabled is None else is_enabled, credit_limit=limit,
                    overdraft_allowance=over, overdraft_allowance_type=kind, payment_terms=terms)


def check_details(type_id: object, amount: object, order_id: object = None, purchase_order_number: object = None,
                  external_id: object = None, additional_detail: object = None,
                  author: object = None) -> TransactionDetails:
    """A transaction a client posts: a known type other than 1 (a credit-limit change is made by
    changing the account's creditLimit), an amount > 0 (a manual adjustment's is signed and not 0)."""
    if isinstance(type_id, bool) or not isinstance(type_id, int) or type_id not in TransactionType.__members__.values():
        raise _bad("transactionTypeId", "must be one of 2 (Order Submitted), 3 (Payment Collected), 4 (Payment Voided), "
                   "5 (Payment Refund), 6 (Manual Adjustment)")
    kind = TransactionType(type_id)
    if kind == TransactionType.LINE_OF_CREDIT_CHANGE:
        raise _bad("transactionTypeId", "1 (Line of Credit Change) is recorded by changing the purchase-order "
                   "account's creditLimit")
    if amount is None:
        raise _bad("transactionAmount", "is required")
    value = cents("transactionAmount", amount, signed=kind == TransactionType.MANUAL_ADJUSTMENT)
    if value == 0:
        raise _bad("transactionAmount", "must not be 0")
    return TransactionDetails(
        type=kind, amount=value, order_id=text("orderId", order_id),
        purchase_order_number=text("purchaseOrderNumber", purchase_order_number),
        external_id=text("externalId", external_id),
        additional_detail=text("additionalTransactionDetail", additional_detail), author=text("author", author))
