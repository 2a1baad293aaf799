"""The harness shared by the Kibo SDK conformance tests: the node driver (kibo_client.mjs) run as one
application on one tenant and site, and the checks of what the SDKs report."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SITE, STOREFRONT, TENANT
from tests.smtp import smtp_server  # noqa: F401  (the fixture, for the forgotten-password test)

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "kibo_client.mjs"
HEX32 = re.compile(r"^[0-9a-f]{32}$")
ENVELOPE_KEYS = {"message", "errorCode", "applicationName", "additionalErrorData", "items", "exceptionDetail"}
# Variables of the driver (and of Node's TLS) that must come from the test, never from the caller's shell.
DRIVER_ENV = re.compile(r"^(TB_|NODE_EXTRA_CA_CERTS$|NODE_TLS_REJECT_UNAUTHORIZED$)")


@pytest.fixture(scope="module", autouse=True)
def _node_sdks() -> None:
    """The SDKs must be installed: a missing toolchain is a failure, not a silent skip."""
    if shutil.which("node") is None:
        pytest.fail("node is not on PATH; the Kibo SDK conformance tests need Node.js >= 20")
    for package in ("@kibocommerce/rest-sdk", "@kibocommerce/sdk-authentication"):
        if not (HERE / "node_modules" / package / "package.json").exists():
            pytest.fail(f"{package} is not installed: run `make test` (or `cd tests/conformance && npm ci`)")


class Kibo:
    """Runs kibo_client.mjs scenarios against one server, as one application on one tenant and site."""

    def __init__(self, base_url: str, **env: str) -> None:
        self.base_url = base_url
        self.env = {"TB_BASE_URL": base_url, "TB_TENANT": str(TENANT), "TB_SITE": str(SITE),
                    "TB_CLIENT_ID": STOREFRONT[0], "TB_CLIENT_SECRET": STOREFRONT[1], **env}

    def as_(self, creds: tuple[str, str] | None = None, site: int | None = None, **env: str) -> Kibo:
        """The same server with another application or site (or more driver variables)."""
        other = Kibo(self.base_url, **self.env, **env)
        if creds is not None:
            other.env["TB_CLIENT_ID"], other.env["TB_CLIENT_SECRET"] = creds
        if site is not None:
            other.env["TB_SITE"] = str(site)
        return other

    def run(self, scenario: str, *args: str) -> dict[str, Any]:
        env = {k: v for k, v in os.environ.items() if not DRIVER_ENV.match(k)} | self.env
        done = subprocess.run(["node", str(DRIVER), scenario, *args], env=env, cwd=HERE, capture_output=True,
                              timeout=120, text=True)
        assert done.returncode == 0, f"kibo_client.mjs {scenario} exited {done.returncode}: {done.stderr}{done.stdout}"
        lines = done.stdout.strip().splitlines()
        assert len(lines) == 1, f"kibo_client.mjs {scenario} printed {done.stdout!r} {done.stderr!r}"
        out: dict[str, Any] = json.loads(lines[0])
        assert out["scenario"] == scenario
        return out

    def ok(self, scenario: str, *args: str) -> Any:
        """What the SDK returned; the SDK call must have succeeded."""
        out = self.run(scenario, *args)
        assert out["ok"] is True, f"{scenario} {args} failed through the SDK: {out['error']}"
        return out["result"]

    def error(self, scenario: str, *args: str) -> dict[str, Any]:
        """The error the SDK threw; the SDK call must have failed."""
        out = self.run(scenario, *args)
        assert out["ok"] is False, f"{scenario} {args} should have failed, the SDK returned {out['result']}"
        error: dict[str, Any] = out["error"]
        return error

    def call(self, api: str, method: str, params: dict[str, Any] | None = None, token: str | None = None) -> dict[str, Any]:
        """One SDK method (`call` scenario) with these request parameters, as the application or, with
        `token` (a ticket's jwtAccessToken), as that shopper: the driver's whole output."""
        args = [api, method, json.dumps(params or {})]
        out = self.run("call", *args, *([token] if token else []))
        out["call"] = f"{self.env['TB_CLIENT_ID']}{' as a shopper' if token else ''}: {api}.{method}({args[2]})"
        return out


def assert_api_error(error: dict[str, Any], status: int, code: str, parameter: str | None = None) -> None:
    """A Kibo error the SDK parsed (ResponseError): status, errorCode, the full envelope, a correlation id
    and, when given, the ParameterName entry."""
    assert error["kind"] == "ResponseError", error
    assert (error["status"], error["errorCode"]) == (status, code), error
    assert set(error["apiError"]) >= ENVELOPE_KEYS, error["apiError"]
    assert error["apiError"]["errorCode"] == code
    assert error["message"] == error["apiError"]["message"]
    assert re.match(r"^[A-Z][A-Za-z ]+: \S", error["message"]), error["message"]  # "Category: detail"
    assert isinstance(error["correlationId"], str) and error["correlationId"], error
    if parameter is not None:
        assert error["additionalErrorData"] == [{"name": "ParameterName", "value": parameter}], error


def parse_date(value: str) -> dt.datetime:
    assert isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", value), value
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _brief(error: dict[str, Any]) -> str:
    keys = ("kind", "status", "errorCode", "message", "url")
    return json.dumps({k: error.get(k) for k in keys if error.get(k) is not None})


class StepChecks:
    """Checks the steps of a multi-step driver scenario (merchant, shopper) and reports every failing
    step at the end, not only the first, so one run shows every server-side gap.

        checks = StepChecks(result)
        @checks.ok("addAccount")
        def _(account: dict) -> None: ...           # runs now, with what the SDK returned
        checks.fails("getDeletedAccount", 404, "ITEM_NOT_FOUND")
        checks.done()                               # fails listing every step that did not pass
    """

    def __init__(self, result: dict[str, Any]) -> None:
        self.steps: dict[str, dict[str, Any]] = result["steps"]
        self.ids: dict[str, Any] = result.get("ids", {})
        self.failures: list[str] = []
        self.checked: set[str] = set()

    def ok(self, name: str) -> Callable[[Callable[[Any], None]], None]:
        def check(body: Callable[[Any], None]) -> None:
            step = self._step(name)
            if step is None:
                return
            if not step["ok"]:
                self.failures.append(f"{name}: the SDK call failed: {_brief(step['error'])}")
                return
            try:
                body(step["result"])
            except Exception as exc:  # an assertion, or a shape the check could not even read (KeyError, ...)
                what = str(exc) if isinstance(exc, AssertionError) else f"{type(exc).__name__}: {exc}"
                self.failures.append(f"{name}: {what or 'assertion failed'} (SDK returned "
                                     f"{json.dumps(step['result'])[:400]})")
        return check

    def fails(self, name: str, status: int, code: str, parameter: str | None = None) -> None:
        step = self._step(name)
        if step is None:
            return
        if step["ok"]:
            self.failures.append(f"{name}: should have failed with {status} {code}, the SDK returned "
                                 f"{json.dumps(step['result'])[:400]}")
            return
        try:
            assert_api_error(step["error"], status, code, parameter)
        except AssertionError:
            self.failures.append(f"{name}: expected {status} {code}, got {_brief(step['error'])}")

    def _step(self, name: str) -> dict[str, Any] | None:
        self.checked.add(name)
        if name not in self.steps:
            self.failures.append(f"{name}: the driver ran no such step")
            return None
        return self.steps[name]

    def done(self) -> None:
        unchecked = set(self.steps) - self.checked
        if unchecked:
            raise AssertionError(f"steps the test does not check: {sorted(unchecked)}")
        if self.failures:
            raise AssertionError(f"{len(self.failures)} of {len(self.steps)} steps failed:\n  " + "\n  ".join(self.failures))
