"""Which logins meet which site's 2FA rule (`policies.meets_two_factor_rule` with the proofs of
`services.tickets`): a password and a mailed code meet every rule, a code alone meets the device and
region triggers but not "always", a password alone meets only the triggers of the site that checked it."""

from __future__ import annotations

from itertools import combinations

import pytest

from ticketbooth.domain.policies import TWO_FACTOR_TRIGGERS, SiteSettings, meets_two_factor_rule
from ticketbooth.tickets.service import CODE_PROOF, TWO_FACTOR_PROOF

RULES = [list(c) for n in range(len(TWO_FACTOR_TRIGGERS) + 1) for c in combinations(TWO_FACTOR_TRIGGERS, n)]


@pytest.mark.parametrize("rule", RULES)
def test_a_second_factor_meets_every_rule(rule: list[str]) -> None:
    assert meets_two_factor_rule(SiteSettings.model_validate({"two_factor": rule}), TWO_FACTOR_PROOF.two_factor_met)


@pytest.mark.parametrize("rule", RULES)
def test_a_code_alone_meets_every_rule_but_always(rule: list[str]) -> None:
    settings = SiteSettings.model_validate({"two_factor": rule})
    assert meets_two_factor_rule(settings, CODE_PROOF.two_factor_met) is ("always" not in rule)
    assert settings.otp_allowed() is ("always" not in rule)


@pytest.mark.parametrize(("checked", "rule", "met"), [
    ([], [], True),
    ([], ["new-device"], False),
    (["new-device"], ["new-device"], True),
    (["new-device"], ["region-change"], False),
    (["new-device"], ["new-device", "region-change"], False),
    (["new-device", "region-change"], ["region-change"], True),
    (["new-device", "region-change"], ["always"], False),
])
def test_a_password_alone_meets_the_rules_its_own_site_checked(checked: list[str], rule: list[str], met: bool) -> None:
    assert meets_two_factor_rule(SiteSettings.model_validate({"two_factor": rule}), checked) is met


def test_no_rule_is_met_by_nothing_but_the_empty_one() -> None:
    assert meets_two_factor_rule(SiteSettings(), [])
    assert not meets_two_factor_rule(SiteSettings.model_validate({"two_factor": ["new-device"]}), [])
