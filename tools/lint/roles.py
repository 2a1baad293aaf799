"""Import-linter contracts of our own, for what the built-in contract types cannot say about a layout by
concept (docs/architecture.md, "The contracts"):

- `roles`: every module has one role, told by where it sits (a `routes` or `graphql` module or package is
  a transport, a `store` package or `db/` is storage, a `rules` module or `domain/` is a pure rule...), and
  each role imports only the roles below it. Concept packages import each other freely; their roles do not cross the wrong way.
- `acyclic_modules`: no cycle among the modules of the whole project (the built-in `acyclic_siblings`
  also forbids cycles between *packages*, which concept packages have by design: `accounts` uses the
  login flow for create-and-login, the login flow reads accounts).

Registered in pyproject.toml's [tool.importlinter] `contract_types`; `make lint` puts tools/ on the path.
"""

from __future__ import annotations

from collections.abc import Iterable

import grimp
from importlinter import Contract, ContractCheck, fields, output

PROCESS = "process"
TRANSPORT = "transport"
WIRING = "wiring"
SERVICE = "service"
STORAGE = "storage"
RULES = "rules"
INFRA = "infra"

MAY_IMPORT: dict[str, frozenset[str]] = {
    PROCESS: frozenset({PROCESS, TRANSPORT, WIRING, SERVICE, STORAGE, RULES, INFRA}),
    TRANSPORT: frozenset({TRANSPORT, WIRING, SERVICE, RULES, INFRA}),
    WIRING: frozenset({WIRING, SERVICE, STORAGE, RULES, INFRA}),
    SERVICE: frozenset({WIRING, SERVICE, RULES, INFRA}),
    STORAGE: frozenset({STORAGE, RULES, INFRA}),
    RULES: frozenset({RULES}),
    INFRA: frozenset({INFRA, RULES}),
}
"""Which roles a module of each role may import directly. A service reaches storage only through its
concept's persistence interface (`<concept>/persistence.py`, a Protocol, itself a service module); only the
wiring (core) imports the SQL store that implements them, and hands it to the services (docs/architecture.md)."""


def role_of(module: str, root: str) -> str:
    parts = module.split(".")[1:]
    if not parts or parts[0] in {"__main__", "cli", "app"} or module == root:
        return PROCESS
    if parts[0] in {"kibo", "console"} or "routes" in parts or "graphql" in parts:
        return TRANSPORT
    if parts[0] in {"core", "caller"}:
        return WIRING
    if parts[0] == "db" or "store" in parts:
        return STORAGE
    if parts[0] == "domain" or "rules" in parts:
        return RULES
    if parts[0] in {"infra", "config"}:
        return INFRA
    return SERVICE


def _internal_imports(graph: grimp.ImportGraph, root: str) -> Iterable[tuple[str, str]]:
    for importer in sorted(graph.modules):
        if not importer.startswith(root):
            continue
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if imported.startswith(root + ".") and imported != importer:
                yield importer, imported


class RolesContract(Contract):
    """Each module imports only modules of the roles its own role may import (MAY_IMPORT)."""

    root = fields.StringField()

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        root = str(self.root)
        broken = []
        for importer, imported in _internal_imports(graph, root):
            mine, theirs = role_of(importer, root), role_of(imported, root)
            if theirs not in MAY_IMPORT[mine]:
                broken.append(f"{importer} ({mine}) imports {imported} ({theirs})")
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for line in check.metadata["broken"]:
            output.print_error(line)


class AcyclicModulesContract(Contract):
    """No module reaches itself again through its imports (Tarjan's strongly connected components)."""

    root = fields.StringField()

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        root = str(self.root)
        edges: dict[str, list[str]] = {}
        for importer, imported in _internal_imports(graph, root):
            edges.setdefault(importer, []).append(imported)
        cycles = _cycles(edges)
        return ContractCheck(kept=not cycles, metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle in check.metadata["cycles"]:
            output.print_error("cycle: " + " <-> ".join(cycle))


def _cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module, iteratively (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(edges.get(start, ())))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found
