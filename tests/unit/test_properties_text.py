"""Properties of how login names and emails are compared and cleaned (domain/policies.py `login_key`,
domain/text.py). The rule: a login name (username or email) is compared as its NFKC normal form,
case-folded (Unicode full case folding) and NFKC-normalized again, so that

- it does not matter how the name was typed: composed or decomposed accents (NFC vs NFD),
  compatibility forms (fullwidth letters, ligatures, the Kelvin and Ohm signs, superscripts) and
  upper or lower case all give the same key, also where case folding changes the length
  ('Straße' and 'STRASSE');
- the key is a fixed point: comparing keys of keys changes nothing;
- letters of different scripts that merely look alike (Latin 'a' and Cyrillic U+0430, Latin 'i' and
  Turkish dotless i U+0131) stay different: they are different names, and both may be registered (what
  NFKC + case folding, the PRECIS and common identity-provider rule, does; the HTTP test is in
  tests/api/test_properties_logins.py).
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from tests.unit.properties_support import answer_or_400
from ticketbooth.domain.policies import login_key, normalize_username
from ticketbooth.domain.text import MAX_LOGIN_KEY, MAX_USERNAME, clean_email, clean_text, clean_username

# every code point but surrogates (which no client can send: JSON and the query decoder refuse them)
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
FORMS = ("NFC", "NFD", "NFKC", "NFKD")


@given(TEXT)
@example("\u00df\u0301")  # ß + combining acute: folds to 'ss\u0301', which NFKC composes to 'sś'
@example("\u1e9e\u0323")  # capital sharp s + dot below
@example("\u0130\u0316")  # İ + grave below: the fold 'i\u0307' must be put back in canonical order
@example("\u0345\u0300")  # combining ypogegrammeni folds to iota
def test_the_login_key_is_a_fixed_point(value: str) -> None:
    key = login_key(value)
    assert login_key(key) == key
    assert unicodedata.is_normalized("NFKC", key)


@given(TEXT)
@example("\u00df\u0301")
@example("\u01f0")  # ǰ: no precomposed capital; upper() gives 'J\u030c'
def test_the_key_ignores_the_normalization_form_and_case(value: str) -> None:
    key = login_key(value)
    for form in FORMS:
        assert login_key(unicodedata.normalize(form, value)) == key, form
    assert login_key(value.casefold()) == key
    assert login_key(value.lower()) == key
    # upper() is not a case-insensitive identity for the letters whose upper case folds back to
    # another letter: dotless i (U+0131) -> I -> i, and a few Greek and Cherokee forms; every other letter round trips
    assume(all(login_key(c.upper()) == login_key(c) for c in value))
    assert login_key(value.upper()) == key


SAME = [
    ("Straße", "STRASSE"), ("straße", "strasse"), ("ǅemal", "DŽEMAL"), ("\u212aelvin", "kelvin"),  # Kelvin sign
    ("\uff2e\uff49\uff4e\uff41", "nina"),  # fullwidth
    ("\ufb01ona", "fiona"), ("caf\u00e9", "cafe\u0301"), ("CAF\u00c9", "cafe\u0301"), ("\u2126mega", "ωmega"),  # Ohm
    ("\u212bngstrom", "ångstrom"), ("user\u00b2", "user2"), ("ΣΊΣΥΦΟΣ", "σίσυφος"), ("\u017fam", "sam"),
    ("\u00df\u0301", "SS\u0301"), ("\u00df\u0301", "s\u015b"), ("  nina  ", "NINA"),
]
DIFFERENT = [
    ("paypal", "p\u0430ypal"),  # Cyrillic a
    ("oscar", "\u03bfscar"),  # Greek omicron
    ("ilker", "\u0131lker"),  # Turkish dotless i
    ("ilker", "\u0130lker"),  # Turkish dotted İ folds to i + combining dot, not to i
    ("nina", "nina\u200b"),  # a zero-width space is kept (and refused as a username: not printable)
    ("nina", "n\u00efna"),
]


@pytest.mark.parametrize("a, b", SAME)
def test_names_that_differ_only_in_form_or_case_have_one_key(a: str, b: str) -> None:
    assert login_key(a) == login_key(b)


@pytest.mark.parametrize("a, b", DIFFERENT)
def test_look_alike_letters_of_other_scripts_keep_their_own_key(a: str, b: str) -> None:
    assert login_key(a) != login_key(b)


@given(TEXT)
def test_a_stored_username_is_normalized_once(value: str) -> None:
    name = normalize_username(value)
    assert normalize_username(name) == name
    assert login_key(name) == login_key(value)


@given(TEXT)
@example("nina\u200b")
@example("a" * 300)
@example("\ufdfa" * 30)  # one character whose NFKC form is 18 characters
def test_a_clean_username_is_clean_again_and_fits_its_columns(value: str) -> None:
    name = answer_or_400("userName", clean_username, value, None)
    if name is None:
        return
    assert answer_or_400("userName", clean_username, name, None) == name
    assert len(name) <= MAX_USERNAME and len(login_key(name)) <= MAX_LOGIN_KEY
    assert name == name.strip() and all(c.isprintable() and not c.isspace() for c in name)


LOCAL = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=20)


@given(LOCAL, LOCAL, st.sampled_from(["com", "example", "xn--p1ai", "рф", "\uff23\uff2f\uff2d"]))
@example("a\u0000b", "example", "com")
@example("nina", "exa mple", "com")
def test_a_clean_email_is_clean_again(local: str, domain: str, tld: str) -> None:
    email = answer_or_400("emailAddress", clean_email, f"{local}@{domain}.{tld}", required=True)
    if email is None:
        return
    assert answer_or_400("emailAddress", clean_email, email, required=True) == email
    assert email.count("@") == 1 and email.isprintable()
    assert len(login_key(email)) <= MAX_LOGIN_KEY


@given(st.one_of(TEXT, st.text(max_size=5000), st.integers(), st.none(), st.lists(st.integers(), max_size=2)),
       st.booleans(), st.booleans())
def test_clean_text_answers_a_string_none_or_a_400(value: object, required: bool, multiline: bool) -> None:
    text = answer_or_400("field", clean_text, value, "field", 200, required=required, multiline=multiline)
    if text is not None:
        assert 0 < len(text) <= 200
        assert answer_or_400("field", clean_text, text, "field", 200, required=required, multiline=multiline) == text
