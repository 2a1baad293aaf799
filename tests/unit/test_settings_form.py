"""applications/rules.py: the settings form built from the settings models, a submitted form read back,
field errors, and only what differs from the defaults stored."""

from __future__ import annotations

from typing import Any

from ticketbooth.applications.rules import MISSING, apply_changes, form_fields, read_form, version_of
from ticketbooth.domain.policies import SiteSettings, TenantSettings


def submitted(stored: dict[str, Any], model: Any = TenantSettings, **over: list[str]) -> dict[str, list[str]]:
    """The form as a browser posts it unchanged (checked boxes only), with `over` replacing fields."""
    out: dict[str, list[str]] = {}
    for f in form_fields(model, stored):
        if f.kind in ("bool", "off"):
            if f.value:
                out[f.path] = ["on"]
        elif f.kind == "choices":
            out[f.path] = list(f.value)
        elif f.kind == "words":
            out[f.path] = [" ".join(f.value)]
        else:
            out[f.path] = [f.shown(f.value)]
    for key, value in over.items():
        out[key.replace("__", ".")] = value
    return out


def test_every_setting_is_a_field_with_its_default() -> None:
    fields = {f.path: f for f in form_fields(TenantSettings, {"password": {"min_length": 12}})}
    assert fields["password.min_length"].value == 12 and fields["password.min_length"].default == 8
    assert fields["password.min_length"].differs and not fields["password.max_length"].differs
    assert fields["password.rule"].kind == "choice" and fields["password.rule"].choices == ("default", "kibo-legacy")
    assert fields["rate_limits.login.per_account"].kind == "off"
    assert fields["rate_limits.login.per_account.capacity"].bucket == "rate_limits.login.per_account"
    assert fields["mail.from_address"].kind == "text" and "lock" in fields["lockout.lock_minutes"].help
    # every leaf of the model is there
    assert {"tokens.access_token_minutes", "codes.otp_max_sends", "audit.keep_days", "lockout.max_failed_logins",
            "rate_limits.code_verify.per_storefront_server.per_minute"} <= set(fields)
    site = {f.path: f for f in form_fields(SiteSettings, {})}
    assert site["two_factor"].kind == "choices" and site["otp_login"].kind == "bool"


def test_an_unchanged_form_changes_nothing() -> None:
    stored = {"password": {"min_length": 12}, "rate_limits": {"login": {"per_account": None}}}
    form, changes = read_form(TenantSettings, stored, submitted(stored))
    assert not form.errors and changes is not None
    document, changed = apply_changes(TenantSettings, stored, changes)
    assert changed == [] and document == stored


def test_values_equal_to_defaults_are_not_stored() -> None:
    _, changes = read_form(TenantSettings, {}, submitted({}, password__min_length=["10"]))
    assert changes is not None
    document, changed = apply_changes(TenantSettings, {}, changes)
    assert document == {"password": {"min_length": 10}} and changed == ["password.min_length"]
    _, changes = read_form(TenantSettings, document, submitted(document, password__min_length=["8"]))
    assert changes is not None and changes["password.min_length"] is MISSING
    assert apply_changes(TenantSettings, document, changes) == ({}, ["password.min_length"])


def test_field_errors_name_each_field_and_change_nothing() -> None:
    form, changes = read_form(TenantSettings, {}, submitted(
        {}, password__min_length=["abc"], lockout__lock_minutes=["-5"], mail__reset_url=["ftp://x"],
        codes__otp_max_sends=["9999"]))
    assert changes is None
    assert form.errors["password.min_length"] == "Enter a whole number."
    assert "greater than or equal to 0" in form.errors["lockout.lock_minutes"]
    assert "less than or equal to 20" in form.errors["codes.otp_max_sends"]
    assert "reset_url" in form.errors["mail"]  # a rule over the section: shown on its fieldset
    assert form.submitted["password.min_length"] == "abc"  # shown again as typed


def test_a_rule_across_fields_is_the_sections_error() -> None:
    form, changes = read_form(TenantSettings, {}, submitted({}, password__min_length=["40"], password__max_length=["20"]))
    assert changes is None and form.errors == {"password": "min_length must not exceed max_length."}


def test_a_bucket_switched_off_and_on_again() -> None:
    _, changes = read_form(TenantSettings, {}, submitted({}, rate_limits__login__per_account=["on"]))
    assert changes is not None
    document, changed = apply_changes(TenantSettings, {}, changes)
    assert document == {"rate_limits": {"login": {"per_account": None}}}
    assert "rate_limits.login.per_account" in changed
    assert TenantSettings.model_validate(document).rate_limits.login.per_account is None
    # its fields show the defaults, ready to switch it on again
    fields = {f.path: f for f in form_fields(TenantSettings, document)}
    assert fields["rate_limits.login.per_account.capacity"].value == 10
    on = submitted(document)
    on.pop("rate_limits.login.per_account")
    _, changes = read_form(TenantSettings, document, on)
    assert changes is not None
    assert apply_changes(TenantSettings, document, changes)[0] == {}


def test_a_bucket_off_by_default_needs_its_numbers_when_switched_on() -> None:
    on = submitted({})
    on.pop("rate_limits.anonymous.per_account")  # off by default: switch it on, numbers empty
    form, changes = read_form(TenantSettings, {}, on)
    assert changes is None and form.errors["rate_limits.anonymous.per_account.capacity"] == "Enter a whole number."
    on["rate_limits.anonymous.per_account.capacity"] = ["50"]
    on["rate_limits.anonymous.per_account.per_minute"] = ["5"]
    form, changes = read_form(TenantSettings, {}, on)
    assert changes is not None
    document, _ = apply_changes(TenantSettings, {}, changes)
    assert TenantSettings.model_validate(document).rate_limits.anonymous.per_account is not None
    assert document["rate_limits"]["anonymous"]["per_account"] == {"capacity": 50, "per_minute": 5.0}


def test_list_choices_and_unchecked_boxes() -> None:
    form, changes = read_form(SiteSettings, {}, {"two_factor": ["always", "bogus"]})
    assert changes is None and "always" in form.errors["two_factor"]
    form, changes = read_form(SiteSettings, {}, {"two_factor": ["new-device"]})
    assert changes is not None
    assert apply_changes(SiteSettings, {}, changes) == ({"two_factor": ["new-device"], "otp_login": False},
                                                       ["otp_login", "two_factor"])


def test_the_version_tells_a_document_changed_meanwhile() -> None:
    assert version_of({"a": 1, "b": {"c": 2}}) == version_of({"b": {"c": 2}, "a": 1})
    assert version_of({}) != version_of({"mail": {"from_name": "Shop"}})


def test_a_list_of_words_is_one_input_separated_by_spaces() -> None:
    """passkeys.origins: typed with spaces or commas, stored as a list, checked by the model."""
    form, changes = read_form(SiteSettings, {}, submitted(
        {}, SiteSettings, passkeys__rp_id=["example.com"],
        passkeys__origins=["https://shop.example.com,  https://www.example.com"]))
    assert not form.errors and changes is not None
    assert changes["passkeys.origins"] == ["https://shop.example.com", "https://www.example.com"]
    document, changed = apply_changes(SiteSettings, {}, changes)
    assert changed == ["passkeys.origins", "passkeys.rp_id"]
    assert document["passkeys"] == {"rp_id": "example.com",
                                    "origins": ["https://shop.example.com", "https://www.example.com"]}
    fields = {f.path: f for f in form_fields(SiteSettings, document)}
    assert fields["passkeys.origins"].kind == "words"
    assert fields["passkeys.origins"].shown(fields["passkeys.origins"].value) == \
        "https://shop.example.com, https://www.example.com"
    form, changes = read_form(SiteSettings, {}, submitted(
        {}, SiteSettings, passkeys__rp_id=["example.com"], passkeys__origins=["https://evil.example"]))
    assert changes is None and "not on the relying party id" in form.errors["passkeys"]
