"""The notice an account's old address gets when its login names change (issue 13, finding 3): every
locale names what changed, and says how to undo it."""

from __future__ import annotations

import pytest

from ticketbooth.domain.models import MAIL_LOGIN_CHANGED
from ticketbooth.mail.room import Templates


@pytest.mark.parametrize(("locale", "email_word", "name_word", "undo"), [
    (None, "email address", "user name", "contact Shop"),
    ("de", "E-Mail-Adresse", "Benutzername", "wenden Sie sich sofort an Shop"),
    ("fr", "adresse e-mail", "nom d'utilisateur", "contactez Shop"),
])
def test_notice_names_what_changed_and_how_to_undo(locale: str | None, email_word: str, name_word: str,
                                                   undo: str) -> None:
    templates = Templates()
    for email_changed, username_changed in ((True, False), (False, True), (True, True)):
        values = {"tenant_name": "Shop", "user_name": "olga", "first_name": "Olga",
                  "email_changed": email_changed, "username_changed": username_changed}
        subject, text, html = templates.render(MAIL_LOGIN_CHANGED, locale, values)
        assert "Shop" in subject
        for body in (text, html.replace("&#39;", "'")):
            assert (email_word in body) == email_changed, body
            assert (name_word in body) == username_changed, body
            assert undo in body and "olga" in body
