"""Schemathesis against a live `ticketbooth serve` process, on SQLite and PostgreSQL, driven by the
document the process serves at /openapi.json.

Every operation gets cases that fit its schema with the ids of real records (an account with a login,
its contact, note and attribute values, a segment, an attribute definition), half sent by the admin
application and half by the storefront (with the shopper's ticket where the operation takes one); cases
that fit it with generated ids (admin); and cases that do not fit it (storefront). The credentials, tenant
and site are real and fixed, so the cases reach the handlers, not only the 401. Every answer must:
- not be a 5xx;
- have a documented status, content type and headers (x-vol-correlation on every answer);
- match the documented schema; with no `?responseFields=`, hold every documented field;
- be Kibo's full error envelope when it is an error.

`test_schema_fuzz` (in `make test`) runs a few cases per operation with a fixed seed; `test_schema_fuzz_long`
(`make fuzz`, marker `fuzz`) runs many more with a new seed each time (printed, and `FUZZ_SEED=` replays it).
Both print the number of cases and the statuses per operation.
"""

from __future__ import annotations

import os
import random
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema_rs
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, CheckContext, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.parts_support import admin_headers, define, part, shopper
from tests.api.support import ENVELOPE_KEYS, ok
from tests.conftest import SITE, TENANT, LiveServer, app_token, headers
from ticketbooth.kibo import openapi

FIXED_SEED = 20261127


@dataclass(frozen=True)
class Budget:
    """Cases per operation: fitting the schema with real ids, fitting it with generated ids, not fitting it."""

    real: int
    generated: int
    negative: int


QUICK = Budget(real=3, generated=1, negative=2)
_LONG_CASES = int(os.environ.get("FUZZ_CASES", "60"))
LONG = Budget(real=_LONG_CASES, generated=_LONG_CASES // 2, negative=_LONG_CASES // 2)


@dataclass
class Target:
    """The live server, the credentials of each caller, and the ids of real records."""

    server: LiveServer
    callers: dict[str, dict[str, str]]
    ids: dict[str, Any]


@pytest.fixture
async def target(live_server: LiveServer) -> Target:
    async with httpx.AsyncClient(base_url=live_server.base_url, timeout=30) as client:
        admin = await admin_headers(client)
        storefront = headers(await app_token(client))
        owner = await shopper(client, storefront, "fuzz.owner@example.com")
        definition = await define(client, admin, "favourite")
        contact = ok(await client.post(part(owner.account_id, "contacts"), headers=owner.headers,
                                       json={"email": "fuzz.owner@example.com", "firstName": "Fuzz"}))
        note = ok(await client.post(part(owner.account_id, "notes"), headers=admin, json={"content": "a note"}))
        ok(await client.post(part(owner.account_id, "attributes"), headers=admin,
                             json={"fullyQualifiedName": definition["attributeFQN"], "values": ["blue"]}))
        segment = ok(await client.post("/api/commerce/customer/segments", headers=admin,
                                       json={"code": "fuzz", "name": "Fuzz"}))
        sets = ok(await client.get("/api/commerce/customer/customersets", headers=admin))
        # paused (noCallback): no delivery is ever attempted, so the fuzz sends nothing out of this machine
        subscription = ok(await client.post("/api/platform/appdev/appsubscriptions/events", headers=admin, json={
            "applicationEndPoint": "https://93.184.215.14/fuzz", "events": [{"eventName": "customeraccount.updated"}],
            "noCallback": True}))
    return Target(
        server=live_server,
        callers={"admin": admin, "storefront": storefront, "shopper": owner.headers},
        ids={"accountId": owner.account_id, "contactId": contact["id"], "noteId": note["id"],
             "attributeFQN": definition["attributeFQN"], "id": segment["id"], "code": sets["items"][0]["code"],
             "tenantId": TENANT, "subscriptionId": subscription["applicationSubscriptionId"],
             "applicationSubscriptionId": subscription["applicationSubscriptionId"]},
    )


# -- the checks ----------------------------------------------------------------------------------------

CATEGORY_MESSAGE = re.compile(r"^[A-Z][A-Za-z0-9 -]+: \S")


def kibo_envelope(ctx: CheckContext, response: schemathesis.Response, case: Case) -> bool | None:
    """An error answer is Kibo's envelope: JSON, every key, a "Category: detail" message. (A 400 of /graphql,
    a request that is not one operation or a document that does not validate, is GraphQL's own `{errors}`.)"""
    if response.status_code < 400:
        return None
    assert response.headers.get("content-type", [""])[0].startswith("application/json"), (
        f"error {response.status_code} is not JSON: {response.headers.get('content-type')}")
    body = response.json()
    if case.path == "/graphql" and response.status_code == 400:
        assert set(body) == {"errors"} and body["errors"] and all(e["message"] for e in body["errors"]), body
        return None
    assert isinstance(body, dict) and set(body) == ENVELOPE_KEYS, f"error body is not the Kibo envelope: {body!r}"
    assert CATEGORY_MESSAGE.match(body["message"]), f"message is not 'Category: detail': {body['message']!r}"
    return None


def _strict(value: Any) -> Any:
    """The schemas with every listed property required (what an answer without responseFields holds)."""
    if isinstance(value, dict):
        out = {k: _strict(v) for k, v in value.items()}
        if isinstance(out.get("properties"), dict) and out.get("additionalProperties") is False:
            out["required"] = sorted(out["properties"])
        return out
    if isinstance(value, list):
        return [_strict(v) for v in value]
    return value


def every_field(document: dict[str, Any]) -> Callable[[CheckContext, schemathesis.Response, Case], bool | None]:
    """A 200 answer asked without `?responseFields=` holds every field its schema lists (the document
    marks none required, as responseFields may leave any out)."""
    components = _strict(document["components"])
    validators: dict[tuple[str, str], Any] = {}

    def check(ctx: CheckContext, response: schemathesis.Response, case: Case) -> bool | None:
        if response.status_code != 200 or any(k.lower() == "responsefields" for k in case.query or {}):
            return None
        key = (case.method.upper(), case.path)
        if key not in validators:
            op = document["paths"][case.path][case.method.lower()]
            schema = op["responses"]["200"].get("content", {}).get("application/json", {}).get("schema")
            validators[key] = schema and jsonschema_rs.validator_for({**schema, "components": components})
        validator = validators[key]
        if validator:
            errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in validator.iter_errors(response.json())]
            assert not errors, f"a field the document lists is missing: {errors[:5]}"
        return None

    return check


# -- running -----------------------------------------------------------------------------------------


@dataclass
class Report:
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    failures: dict[str, str] = field(default_factory=dict)
    nothing_to_negate: set[str] = field(default_factory=set)
    unauthorized: Counter[str] = field(default_factory=Counter)
    """Answers refused for the application credential (401 UNAUTHORIZED), by operation."""

    @property
    def cases(self) -> int:
        return sum(sum(c.values()) for c in self.statuses.values())

    def summary(self) -> str:
        total: Counter[int] = Counter()
        for counter in self.statuses.values():
            total.update(counter)
        lines = [f"{self.cases} cases over {len(self.statuses)} operations; statuses {dict(sorted(total.items()))}"]
        lines += [f"  {label}: {dict(sorted(c.items()))}" for label, c in sorted(self.statuses.items())]
        return "\n".join(lines)


def _order(operation: schemathesis.APIOperation) -> tuple[int, str]:
    """Operations that end the shopper's sessions or delete records run last, so the others see them."""
    ends = operation.method.upper() == "DELETE" or operation.path.endswith(("/change-password", "/set-login-locked"))
    return (1 if ends else 0, operation.label)


Caller = str
"""Who sends a run's cases: "admin" (the admin application) or "owner" (the storefront application, with
the shopper's ticket where the operation takes one)."""


def caller_headers(target: Target, operation: schemathesis.APIOperation, caller: Caller) -> dict[str, str] | None:
    """The credentials, tenant and site a run's cases are sent with; none for the public operations."""
    auth = openapi.OPERATIONS.get((operation.method.upper(), operation.path), openapi.UNDESCRIBED).auth
    if auth == openapi.PUBLIC:
        return None
    name = caller if caller == "admin" else "shopper" if auth in (openapi.SHOPPER, openapi.TWO_FACTOR) else "storefront"
    return {**target.callers[name], "x-vol-tenant": str(TENANT), "x-vol-site": str(SITE)}


@dataclass(frozen=True)
class Run:
    mode: GenerationMode
    real_ids: bool
    caller: Caller
    examples: int


def runs(budget: Budget) -> list[Run]:
    half = budget.real // 2
    return [Run(GenerationMode.POSITIVE, True, "owner", budget.real - half),
            Run(GenerationMode.POSITIVE, True, "admin", half),
            Run(GenerationMode.POSITIVE, False, "admin", budget.generated),
            Run(GenerationMode.NEGATIVE, False, "owner", budget.negative)]


def fuzz(target: Target, budget: Budget, fixed_seed: int) -> Report:
    schema = schemathesis.openapi.from_url(f"{target.server.base_url}/openapi.json")
    document = requests.get(f"{target.server.base_url}/openapi.json", timeout=30).json()
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
              response_schema_conformance, kibo_envelope, every_field(document)]
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=_order)
    report = Report()
    session = requests.Session()

    def run(operation: schemathesis.APIOperation, plan: Run) -> None:
        names = {p.name for p in operation.path_parameters}
        fixed = {k: v for k, v in target.ids.items() if k in names} if plan.real_ids else None
        if plan.examples <= 0 or (plan.real_ids and names and not fixed):
            return
        credentials = caller_headers(target, operation, plan.caller)
        # fixed credentials are not generated (nor fuzzed: the cases are to reach the handlers)
        strategy = operation.as_strategy(generation_mode=plan.mode, path_parameters=fixed, headers=credentials)

        @seed(fixed_seed)
        @settings(max_examples=plan.examples, deadline=None, database=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck), print_blob=False)
        @given(case=strategy)
        def one(case: Case) -> None:
            if credentials is not None and case.headers:  # a generated x-vol-app-claims would win over Bearer
                case.headers = {k: v for k, v in case.headers.items() if k.lower() != "x-vol-app-claims"} | credentials
            response = case.call(base_url=target.server.base_url, session=session, timeout=30)
            report.statuses[operation.label][response.status_code] += 1
            if response.status_code == 401 and response.json().get("errorCode") == "UNAUTHORIZED":
                report.unauthorized[operation.label] += 1
            try:
                case.validate_response(response, checks=checks)
            except (FailureGroup, AssertionError) as failure:
                report.failures.setdefault(f"{operation.label} [{plan.mode.value}, {plan.caller}]", str(failure)[:3000])

        try:
            one()
        except Unsatisfiable:
            if plan.mode is not GenerationMode.NEGATIVE:
                raise
            report.nothing_to_negate.add(operation.label)  # no parameter or body: no case can break the schema

    for operation in operations:
        for plan in runs(budget):
            run(operation, plan)
    return report


def _assert_clean(report: Report, server: LiveServer) -> None:
    print(report.summary())
    fives = {label: {s: n for s, n in c.items() if s >= 500} for label, c in report.statuses.items()}
    fives = {label: c for label, c in fives.items() if c}
    assert not report.failures, "\n\n".join(f"== {label}\n{text}" for label, text in report.failures.items())
    assert not fives, f"5xx answers: {fives}"
    assert server.process.poll() is None, "the server process died"


def test_schema_fuzz(target: Target) -> None:
    report = fuzz(target, QUICK, FIXED_SEED)
    # the credentials are good: no operation answered only "401 UNAUTHORIZED" (none reached its handler)
    unreached = {label for label, n in report.unauthorized.items() if n == sum(report.statuses[label].values())}
    assert not unreached, f"never past the application credential: {unreached}"
    # and the handlers did their work for most operations, not only refuse
    succeeded = {label for label, c in report.statuses.items() if any(200 <= s < 300 for s in c)}
    assert len(succeeded) >= len(report.statuses) // 2, f"few operations succeeded: {sorted(succeeded)}"
    _assert_clean(report, target.server)


@pytest.mark.fuzz
def test_schema_fuzz_long(target: Target) -> None:
    chosen = int(os.environ["FUZZ_SEED"]) if os.environ.get("FUZZ_SEED") else random.SystemRandom().randrange(2**31)
    print(f"FUZZ_SEED={chosen}")
    _assert_clean(fuzz(target, LONG, chosen), target.server)
