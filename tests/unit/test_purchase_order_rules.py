"""purchase_orders/rules.py: amounts as integer cents, the overdraft allowance, what each transaction type does."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.purchase_orders.rules import (
    MAX_CENTS,
    TransactionType,
    balance_change,
    cents,
    check_details,
    check_settings,
    overdraft_amount,
)


@pytest.mark.parametrize(("value", "expected"), [
    (0, 0), (1, 100), (19.99, 1999), (0.1, 10), (0.01, 1), (1000.5, 100050), (Decimal("2.50"), 250),
    (999_999_999_999.99, MAX_CENTS - 1), (10**12, MAX_CENTS), (1e12, MAX_CENTS), (4.35, 435), (1.15, 115),
])
def test_amounts_become_exact_cents(value: object, expected: int) -> None:
    assert cents("x", value) == expected


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), "1", True, None, [1], 0.001, 1.005,
                                   10**12 + 0.01, 10**13, -1, -0.01, Decimal("NaN"), Decimal("1E+400")])
def test_anything_else_is_refused_naming_the_field(value: object) -> None:
    with pytest.raises(InvalidParameter) as refused:
        cents("creditLimit", value)
    assert refused.value.name == "creditLimit"


def test_a_signed_amount_may_be_negative() -> None:
    assert cents("x", -12.34, signed=True) == -1234


def test_the_overdraft_amount() -> None:
    assert overdraft_amount(100_050, 1000, "Percent") == 10_005  # 10 % of 1000.50
    assert overdraft_amount(333, 3333, "Percent") == 110  # 33.33 % of 3.33 = 1.109889: rounds down
    assert overdraft_amount(100_000, 2550, "Amount") == 2550
    assert overdraft_amount(-500, 5000, "Percent") == 0
    assert overdraft_amount(100, None, None) == 0
    assert check_settings(None, 10, 5, None).overdraft_allowance_type == "Amount"
    with pytest.raises(InvalidParameter):
        check_settings(None, 10, 100.01, "percent")


def test_each_type_moves_the_balance_its_way() -> None:
    assert [balance_change(kind, 500) for kind in TransactionType] == [500, -500, 0, 500, 500, 500]
    assert balance_change(TransactionType.MANUAL_ADJUSTMENT, -7) == -7
    assert check_details(6, -0.5).delta == -50
    for kind, amount in ((1, 5), (2, -5), (3, 0), (6, 0), (0, 5), (True, 5)):
        with pytest.raises(InvalidParameter):
            check_details(kind, amount)
