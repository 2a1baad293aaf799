"""`ticketbooth app create --storefront-server` flags an application as a storefront's server;
saving it again without the option keeps the flag, `--no-storefront-server` clears it."""

from __future__ import annotations

import pytest

from tests.api.test_settings_cli import _cli_database, cli  # noqa: F401  (fixture)
from tests.conftest import TENANT, Seed
from ticketbooth.core import Core

pytestmark = pytest.mark.usefixtures("_cli_database")

CREATE = ("app", "create", "--tenant-id", str(TENANT), "--client-id", "server.app",
          "--client-secret", "server-secret-0123456789abcdef")


async def test_the_cli_sets_keeps_and_clears_the_flag(core: Core, seeded: Seed,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, shown = await cli(capsys, *CREATE, "--storefront-server")
    assert (code, shown["storefrontServer"], shown["created"]) == (0, True, True)
    code, shown = await cli(capsys, *CREATE, "--name", "Storefront server")  # saved again: the flag stays
    assert (code, shown["storefrontServer"], shown["created"]) == (0, True, False)
    stored = await core.store.get_application("server.app")
    assert stored is not None and stored.storefront_server and stored.name == "Storefront server"
    code, shown = await cli(capsys, *CREATE, "--no-storefront-server")
    assert (code, shown["storefrontServer"]) == (0, False)
    stored = await core.store.get_application("server.app")
    assert stored is not None and not stored.storefront_server
    code, shown = await cli(capsys, "app", "create", "--tenant-id", str(TENANT), "--client-id", "plain.app",
                            "--client-secret", "plain-secret-0123456789abcdef")
    assert (code, shown["storefrontServer"]) == (0, False)  # a new application is not one unless told
