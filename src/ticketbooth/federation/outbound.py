"""Calls to identity providers (discovery, their keys, the token endpoint), under the webhooks' address rules
(webhooks/rules.py `parse_endpoint`, `address_allowed`; webhooks/delivery.py `allowed_address`): https unless
the operator allows a host plain http (`oidc_http_hosts`), only public addresses unless the operator allows a
network (`oidc_allowed_networks`), resolved at every call and connected to that very address (no DNS
rebinding), no redirect followed, no proxy from the environment, the answer read up to RESPONSE_CAP bytes, the
whole call bounded by `oidc_timeout_seconds`. A failure is `ProviderUnreachable`, in our words: never the
provider's answer, never a secret."""

from __future__ import annotations

import functools
import ipaddress
import json
from typing import Any

import httpx

from ticketbooth.config import Settings
from ticketbooth.domain.errors import InvalidParameter
from ticketbooth.webhooks.delivery import AttemptError, allowed_address
from ticketbooth.webhooks.rules import Endpoint, EndpointPolicy, parse_endpoint

RESPONSE_CAP = 512 * 1024
USER_AGENT = "Ticketbooth-OIDC/1"


class ProviderUnreachable(Exception):
    """A call to a provider failed (not reached, refused by the address rules, not 2xx, not JSON)."""


@functools.lru_cache(maxsize=8)
def _policy(http_hosts: str, networks: str) -> EndpointPolicy:
    return EndpointPolicy.parse(http_hosts, networks)


def policy(settings: Settings) -> EndpointPolicy:
    return _policy(settings.oidc_http_hosts, settings.oidc_allowed_networks)


def checked_url(settings: Settings, url: str | None, name: str) -> Endpoint:
    """`url` as a provider address that may be called (its name checked when called); InvalidParameter naming
    `name` otherwise."""
    try:
        return parse_endpoint(url, policy(settings))
    except InvalidParameter as exc:
        detail = exc.message.partition("applicationEndPoint")[2].strip() or "is not a valid URL"
        raise InvalidParameter(name, f"Missing or invalid parameter: {name} {detail}", (url or "")[:200]) from None


async def _send(settings: Settings, method: str, url: str, *, form: dict[str, str] | None = None,
                auth: tuple[str, str] | None = None) -> tuple[int, Any]:
    try:
        endpoint = parse_endpoint(url, policy(settings))
        address = await allowed_address(endpoint, policy(settings))
    except (InvalidParameter, AttemptError) as exc:
        raise ProviderUnreachable(f"the provider address is not allowed: {exc}") from None
    host = f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    headers = {"Host": endpoint.host_header, "Accept": "application/json", "User-Agent": USER_AGENT}
    extensions = {"sni_hostname": endpoint.host} if endpoint.scheme == "https" else {}
    timeout = httpx.Timeout(settings.oidc_timeout_seconds)
    async with httpx.AsyncClient(trust_env=False, follow_redirects=False, timeout=timeout) as client:
        request = client.build_request(method, f"{endpoint.scheme}://{host}:{endpoint.port}{endpoint.target}",
                                       headers=headers, data=form, extensions=extensions)
        try:
            response = await client.send(request, stream=True, auth=httpx.BasicAuth(*auth) if auth else None)
        except httpx.HTTPError as exc:
            raise ProviderUnreachable(f"the provider could not be reached ({type(exc).__name__})") from None
        try:
            body = bytearray()
            async for chunk in response.aiter_raw():
                body += chunk
                if len(body) > RESPONSE_CAP:
                    raise ProviderUnreachable("the provider's answer is too large")
        except httpx.HTTPError as exc:
            raise ProviderUnreachable(f"the provider's answer broke off ({type(exc).__name__})") from None
        finally:
            await response.aclose()
    try:
        return response.status_code, json.loads(bytes(body).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return response.status_code, None


async def get_json(settings: Settings, url: str) -> dict[str, Any]:
    status, value = await _send(settings, "GET", url)
    if status != 200 or not isinstance(value, dict):
        raise ProviderUnreachable(f"the provider answered {status} without a JSON object")
    return value


async def post_form(settings: Settings, url: str, form: dict[str, str],
                    auth: tuple[str, str] | None) -> tuple[int, dict[str, Any] | None]:
    """The status and the JSON object of a form POST (None when the answer is not one)."""
    status, value = await _send(settings, "POST", url, form=form, auth=auth)
    return status, value if isinstance(value, dict) else None
