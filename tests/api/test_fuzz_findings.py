"""Regressions for what the schemathesis run (tests/test_schema_fuzz.py) found, each replayed in process."""

from __future__ import annotations

import httpx

from tests.api.support import CURRENT, OAUTH, REGISTER, assert_error
from tests.conftest import Seed, app_token, headers


async def test_oauth_form_body_with_an_overlong_value_is_a_400(client: httpx.AsyncClient, seeded: Seed) -> None:
    """A form-encoded grant whose value passes the 4096-character limit of every body string was a 500
    (pydantic's ValidationError escaped the form branch); now it is the 400 a JSON body gets."""
    r = await client.post(OAUTH, content=f"client_id={'x' * 5000}&client_secret=s&grant_type=client_credentials",
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "client_id")
    json_body = await client.post(OAUTH, json={"client_id": "x" * 5000, "client_secret": "s"})
    assert_error(json_body, 400, "MISSING_OR_INVALID_PARAMETER", "client_id")


async def test_a_nul_character_under_an_empty_json_name_names_its_parent(client: httpx.AsyncClient, seeded: Seed) -> None:
    """A NUL character in the value of an empty JSON name ("") was refused with the message "Missing or invalid
    parameter:  holds a NUL character" and ParameterName ""; the parameter named is now the enclosing one."""
    hdrs = headers(await app_token(client))
    for blank in ("", " ", "\u0085"):
        r = await client.post(REGISTER, headers=hdrs, json={blank: "a\u0000b"})
        assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "body")
    nested = await client.post(REGISTER, headers=hdrs, json={"account": {"": "a\u0000b"}})
    body = assert_error(nested, 400, "MISSING_OR_INVALID_PARAMETER", "account")
    assert body["message"] == "Missing or invalid parameter: account holds a NUL character"


async def test_a_nul_character_under_a_blank_query_name_names_the_query(client: httpx.AsyncClient, seeded: Seed) -> None:
    """The same for a query parameter with a blank name (`?=%00`, `?%C2%85=%00`): the message named the
    blank name; now it names the query."""
    hdrs = headers(await app_token(client))
    for raw in ("=%00", "%C2%85=a%00", "%20=%00"):
        r = await client.get(f"{CURRENT}?{raw}", headers=hdrs)
        body = assert_error(r, 400, "MISSING_OR_INVALID_PARAMETER", "query")
        assert body["message"] == "Missing or invalid parameter: query holds a NUL character"
