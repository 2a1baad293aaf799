"""The import contracts of our own (tools/lint/roles.py): the role each module gets from where it sits,
which roles may import which, and the cycle finder. `make lint` trusts them, so they are tested here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from lint.roles import MAY_IMPORT, _cycles, role_of


@pytest.mark.parametrize(("module", "role"), [
    ("ticketbooth.app", "process"),
    ("ticketbooth.cli", "process"),
    ("ticketbooth.kibo.wire", "transport"),
    ("ticketbooth.tickets.routes.authtickets", "transport"),
    ("ticketbooth.sessions.routes", "transport"),
    ("ticketbooth.accounts.graphql", "transport"),
    ("ticketbooth.console", "transport"),
    ("ticketbooth.console.auth", "transport"),
    ("ticketbooth.console.context", "transport"),
    ("ticketbooth.staff.service", "service"),
    ("ticketbooth.staff.store", "storage"),
    ("ticketbooth.staff.rules", "rules"),
    ("ticketbooth.core", "wiring"),
    ("ticketbooth.caller", "wiring"),
    ("ticketbooth.login.lockout", "service"),
    ("ticketbooth.accounts.parts.contacts", "service"),
    ("ticketbooth.login.persistence", "service"),
    ("ticketbooth.db.hotpath", "storage"),
    ("ticketbooth.login.store.challenges", "storage"),
    ("ticketbooth.mail.store", "storage"),
    ("ticketbooth.login.rules", "rules"),
    ("ticketbooth.domain.models", "rules"),
    ("ticketbooth.infra.signing", "infra"),
    ("ticketbooth.config", "infra"),
])
def test_a_module_has_the_role_of_where_it_sits(module: str, role: str) -> None:
    assert role_of(module, "ticketbooth") == role


def test_a_transport_may_not_read_storage_and_storage_may_not_call_a_flow() -> None:
    assert "storage" not in MAY_IMPORT["transport"]
    assert "service" not in MAY_IMPORT["storage"]
    assert "transport" not in MAY_IMPORT["service"]
    assert MAY_IMPORT["rules"] == frozenset({"rules"})


def test_only_the_wiring_may_import_storage_a_service_goes_through_its_persistence_protocol() -> None:
    assert "storage" not in MAY_IMPORT["service"]
    assert "storage" in MAY_IMPORT["wiring"]
    assert {role for role, may in MAY_IMPORT.items() if "storage" in may} == {"process", "wiring", "storage"}


def test_cycles_are_found_however_long_and_acyclic_graphs_pass() -> None:
    assert _cycles({"a": ["b"], "b": ["c"], "c": []}) == []
    assert _cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    long_chain = {f"m{i}": [f"m{i + 1}"] for i in range(5000)}
    long_chain["m5000"] = ["m0"]
    [cycle] = _cycles(long_chain)
    assert len(cycle) == 5001
