"""B2B accounts through Kibo's own clients, against a live `ticketbooth serve` (issue 16's "Done when").

1. The merchant script, through `@kibocommerce/rest-sdk`'s B2BAccountApi (kibo_b2b.mjs `merchant`, run as an
   application with customer:admin): a company with a child branch, both approved, an admin and a purchaser
   added (each invited by mail: they set their password with the code, through the SDK's
   Update-Forgotten-Password, kibo_client.mjs), and each logs in (StorefrontAuthTicketApi with `accountId`)
   with exactly their role's behaviors in the ticket JWT's `bv`, decoded as the B2B storefront decodes it; the
   admin, a user of both accounts, switches between them with refresh(accountId), and is refused an account
   that is not theirs with the answer of a wrong password.
2. Kibo's B2B storefront over GraphQL (its documents, tests/graphql/b2b_support.py, through
   `@kibocommerce/graphql-client`'s app token and the storefront's fetch and headers, kibo_storefront.mjs):
   the admin signs in, switches account with refreshCustomerAuthTickets(refreshToken, accountId), reads the
   hierarchy with its users, roles and contacts, manages users and roles and child accounts; the purchaser
   is refused what their behaviors do not allow, with Kibo's status in errors[0].extensions.response.

One seeded server per backend serves the module (SQLite and, when TICKETBOOTH_TEST_POSTGRES_URL is set,
PostgreSQL), mailing through an SMTP server of the module's own.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conformance.conftest import DRIVER_ENV, HERE, HEX32, Kibo, StepChecks, assert_api_error
from tests.conformance.test_kibo_storefront import Stack, Storefront, live_stack
from tests.conftest import (
    ADMIN,
    BACKENDS,
    PASSWORD,
    SITE,
    TENANT,
)
from tests.graphql import b2b_support as docs
from tests.graphql.support import LOGIN

pytestmark = pytest.mark.conformance

B2B_DRIVER = HERE / "kibo_b2b.mjs"
ALL = set(range(1000, 1015))
PURCHASER = {1002, 1003, 1005, 1006, 1007, 1008, 1009}
NON_PURCHASER = {1006, 1007}
ADMIN_ROLE, PURCHASER_ROLE, NON_PURCHASER_ROLE = 1, 2, 3


class B2B(Kibo):
    """kibo_b2b.mjs scenarios (Kibo's B2BAccountApi and StorefrontAuthTicketApi) as one application."""

    def run(self, scenario: str, *args: str) -> dict[str, Any]:
        env = {k: v for k, v in os.environ.items() if not DRIVER_ENV.match(k)} | self.env
        done = subprocess.run(["node", str(B2B_DRIVER), scenario, *args], env=env, cwd=HERE, capture_output=True,
                              timeout=120, text=True)
        assert done.returncode == 0, f"kibo_b2b.mjs {scenario} exited {done.returncode}: {done.stderr}{done.stdout}"
        lines = done.stdout.strip().splitlines()
        assert len(lines) == 1, f"kibo_b2b.mjs {scenario} printed {done.stdout!r} {done.stderr!r}"
        out: dict[str, Any] = json.loads(lines[0])
        assert out["scenario"] == scenario
        return out

    def as_(self, creds: tuple[str, str] | None = None, site: int | None = None, **env: str) -> B2B:
        other = B2B(self.base_url)
        other.env = super().as_(creds, site, **env).env
        return other

    def b2b(self, method: str, params: dict[str, Any], token: str | None = None) -> dict[str, Any]:
        """One B2BAccountApi method: the driver's whole output ({ok, result} or {ok, error})."""
        return self.run("call", method, json.dumps(params), *([token] if token else []))


@dataclass
class Company:
    """What the merchant script made: the accounts' ids and the two users, with their passwords set."""

    company: int
    branch: int
    admin_id: str
    purchaser_id: str
    admin_email: str
    purchaser_email: str


@pytest.fixture(scope="module", params=BACKENDS)
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    yield from live_stack(request, tmp_path_factory, "b2b")


def invitation_codes(stack: Stack, email: str, invitations: int) -> list[str]:
    """The set-password codes of the `invitations` mailed to `email`, newest sent last, waiting for the server's
    sender to send them all (counted, not timed). Each invitation of the same user (added to another account)
    supersedes the one before, but the sender may deliver two queued mails in either order: the caller tries
    them, the last received first."""
    codes = [m.code() for m in stack.mail_to(email, invitations)]
    log = stack.log.read_text()
    assert not any(code in log for code in codes)
    return codes[::-1]


def merchant_script(stack: Stack, prefix: str) -> Company:
    """The merchant script through the SDK, every step checked; the users' passwords set from their mail."""
    merchant = B2B(stack.server.base_url).as_(creds=ADMIN)
    result = merchant.ok("merchant", prefix)
    checks = StepChecks(result)
    ids = result["ids"]
    company, branch = ids.get("company"), ids.get("branch")

    @checks.ok("addCompany")
    def _(account: dict[str, Any]) -> None:
        assert isinstance(account["id"], int) and account["id"] > 0
        assert account["companyOrOrganization"] == f"{prefix} Industries"
        assert (account["accountType"], account["approvalStatus"]) == ("B2B", "PendingApproval")
        assert account["parentAccountId"] is None and account["rootAccountId"] == account["id"]
        assert [c["email"] for c in account["contacts"]] == [f"{prefix}.office@example.com"]

    @checks.ok("addBranch")
    def _(account: dict[str, Any]) -> None:
        assert (account["parentAccountId"], account["rootAccountId"]) == (company, company)
        assert account["approvalStatus"] == "PendingApproval"

    for step, account_id in (("approveCompany", company), ("approveBranch", branch)):
        @checks.ok(step)
        def _(account: dict[str, Any], account_id: Any = account_id) -> None:
            assert (account["id"], account["approvalStatus"], account["isActive"]) == (account_id, "Approved", True)

    @checks.ok("getCompany")
    def _(account: dict[str, Any]) -> None:
        assert (account["id"], account["approvalStatus"], account["isActive"]) == (company, "Approved", True)

    @checks.ok("getBranch")
    def _(account: dict[str, Any]) -> None:
        assert (account["parentAccountId"], account["rootAccountId"], account["approvalStatus"]) == (
            company, company, "Approved")

    def user_check(step: str, name: str, role_id: int, role_name: str, same_as: str | None = None) -> None:
        @checks.ok(step)
        def _(user: dict[str, Any]) -> None:
            assert HEX32.match(user["userId"]), user
            if same_as is not None:  # the same login, now in two accounts: not a second user
                assert user["userId"] == same_as
            assert (user["emailAddress"], user["userName"], user["firstName"]) == (
                f"{prefix}.{name}@example.com", f"{prefix}.{name}@example.com", name.capitalize())
            assert [(r["roleId"], r["roleName"]) for r in user["roles"]] == [(role_id, role_name)]
            assert user["isActive"] is True and user.get("isRemoved") in (False, None)

    user_check("addAdmin", "ada", ADMIN_ROLE, "Admin")
    user_check("addPurchaser", "pat", PURCHASER_ROLE, "Purchaser")
    user_check("addAdminToBranch", "ada", ADMIN_ROLE, "Admin", same_as=ids.get("admin"))

    @checks.ok("hierarchy")
    def _(found: dict[str, Any]) -> None:
        assert sorted(a["id"] for a in found["accounts"]) == [company, branch]
        tree = found["hierarchy"]
        assert tree["id"] == company
        (child,) = tree["children"]
        assert child["id"] == branch and not child.get("children")

    @checks.ok("accounts")
    def _(page: dict[str, Any]) -> None:
        assert [a["id"] for a in page["items"]] == [company, branch] and page["totalCount"] == 2

    @checks.ok("companyUsers")
    def _(page: dict[str, Any]) -> None:
        assert [u["firstName"] for u in page["items"]] == ["Ada", "Pat"] and page["totalCount"] == 2

    @checks.ok("branchUsers")
    def _(page: dict[str, Any]) -> None:
        assert [u["userId"] for u in page["items"]] == [ids["admin"]]

    for step, role in (("adminRoles", (ADMIN_ROLE, "Admin")), ("purchaserRoles", (PURCHASER_ROLE, "Purchaser"))):
        @checks.ok(step)
        def _(roles: dict[str, Any], role: tuple[int, str] = role) -> None:
            assert [(r["roleId"], r["roleName"]) for r in roles["items"]] == [role]

    @checks.ok("adminBehaviors")
    def _(behaviors: list[int]) -> None:
        assert set(behaviors) == ALL and len(behaviors) == len(ALL)

    @checks.ok("purchaserBehaviors")
    def _(behaviors: list[int]) -> None:
        assert set(behaviors) == PURCHASER and len(behaviors) == len(PURCHASER)

    @checks.ok("accountsByUser")
    def _(found: list[int]) -> None:
        assert sorted(found) == [company, branch]

    checks.done()

    # each user sets a password with the code of their invitation, through the SDK
    kibo = Kibo(stack.server.base_url)
    company_made = Company(company, branch, ids["admin"], ids["purchaser"], f"{prefix}.ada@example.com",
                           f"{prefix}.pat@example.com")
    # the admin was invited to the company and to its branch, the purchaser to the company
    for email, invitations in ((company_made.admin_email, 2), (company_made.purchaser_email, 1)):
        answers = []
        for code in invitation_codes(stack, email, invitations):
            answers.append(kibo.run("update-forgotten-password", email, code, PASSWORD))
            if answers[-1]["ok"]:
                break
        assert answers[-1]["ok"] is True, answers  # exactly the newest code works: the others were superseded
        assert all(a["error"]["status"] == 400 for a in answers[:-1]), answers
    return company_made


def logged_in(b2b: B2B, email: str, account_id: int | None, behaviors: set[int]) -> dict[str, Any]:
    """A login (with `accountId` when given) whose ticket is for that account with exactly these behaviors."""
    out = b2b.ok("login", email, PASSWORD, *([str(account_id)] if account_id is not None else []))
    ticket, claims = out["ticket"], out["claims"]
    assert set(out["behaviors"]) == behaviors and len(out["behaviors"]) == len(behaviors), out["behaviors"]
    assert ticket["customerAccount"]["id"] == claims["b"]["AccountId"]
    assert (claims["b"]["TenantId"], claims["b"]["SiteId"], claims["anon"]) == (TENANT, SITE, "0")
    assert claims["uid"] == ticket["userId"]
    return out


def test_merchant_script_and_logins_through_the_rest_sdk(stack: Stack) -> None:
    """Issue 16's "Done when": the merchant script with Kibo's SDK, and each user logs in with the right
    behaviors; the admin switches accounts with refresh(accountId)."""
    made = merchant_script(stack, "acme")
    b2b = B2B(stack.server.base_url)

    admin = logged_in(b2b, made.admin_email, made.company, ALL)
    assert admin["ticket"]["customerAccount"]["id"] == made.company
    assert admin["ticket"]["userId"] == made.admin_id
    purchaser = logged_in(b2b, made.purchaser_email, made.company, PURCHASER)
    assert purchaser["ticket"]["userId"] == made.purchaser_id
    # without accountId: the first account by priority (the oldest membership: the company)
    assert logged_in(b2b, made.admin_email, None, ALL)["ticket"]["customerAccount"]["id"] == made.company
    in_branch = logged_in(b2b, made.admin_email, made.branch, ALL)
    assert in_branch["ticket"]["customerAccount"]["id"] == made.branch

    # switching: refresh(accountId) gives a ticket for the other account, only if the user belongs to it
    switched = b2b.ok("refresh", admin["ticket"]["refreshToken"], str(made.branch))
    assert switched["claims"]["b"]["AccountId"] == made.branch and set(switched["behaviors"]) == ALL
    back = b2b.ok("refresh", switched["ticket"]["refreshToken"], str(made.company))
    assert back["claims"]["b"]["AccountId"] == made.company
    refused = b2b.error("refresh", purchaser["ticket"]["refreshToken"], str(made.branch))
    assert refused["status"] in (401, 403), refused

    # an account that is not theirs: the answer of a wrong password
    wrong_password = b2b.error("login", made.purchaser_email, PASSWORD + "!", str(made.company))
    not_theirs = b2b.error("login", made.purchaser_email, PASSWORD, str(made.branch))
    assert_api_error(wrong_password, 401, "INVALID_CREDENTIALS")
    assert_api_error(not_theirs, 401, "INVALID_CREDENTIALS")
    assert not_theirs["apiError"]["message"] == wrong_password["apiError"]["message"]

    # with their own tickets, through the SDK: the admin manages users, the purchaser may not
    # (a switch puts the new session in the old one's place: the admin's ticket now is `back`)
    purchaser = logged_in(b2b, made.purchaser_email, made.company, PURCHASER)
    admin_jwt, purchaser_jwt = back["ticket"]["jwtAccessToken"], purchaser["ticket"]["jwtAccessToken"]
    listed = b2b.b2b("getUsersAsync", {"accountId": made.company}, admin_jwt)
    assert listed["ok"], listed
    assert {u["userId"] for u in listed["result"]["items"]} == {made.admin_id, made.purchaser_id}
    add = {"accountId": made.company, "b2BUserAndAuthInfo": {"b2BUser": {
        "emailAddress": "acme.nia@example.com", "userName": "acme.nia@example.com", "firstName": "Nia",
        "roles": [{"roleId": NON_PURCHASER_ROLE}]}}}
    denied = b2b.b2b("addUser", add, purchaser_jwt)
    assert denied["ok"] is False
    assert_api_error(denied["error"], 403, denied["error"]["errorCode"])
    added = b2b.b2b("addUser", add, admin_jwt)
    assert added["ok"], added
    assert [r["roleId"] for r in added["result"]["roles"]] == [NON_PURCHASER_ROLE]
    # nobody manages an account they do not belong to: the branch, with the purchaser's ticket
    foreign = b2b.b2b("getB2BAccount", {"accountId": made.branch}, purchaser_jwt)
    assert foreign["ok"] is False and foreign["error"]["status"] == 403, foreign


def test_the_b2b_storefront_over_graphql(stack: Stack) -> None:
    """Kibo's B2B storefront's documents, through its client's app token and fetch: sign in, switch account,
    the hierarchy with users, roles and contacts, users and roles managed, child accounts added, renamed and
    moved; what a purchaser is refused."""
    made = merchant_script(stack, "bolt")
    storefront = Storefront(stack.server.base_url)
    with storefront.session() as s:
        [login] = s.gql(LOGIN, {"loginInput": {"username": made.admin_email, "password": PASSWORD}})
        ticket = login["body"]["data"]["account"]
        assert ticket["customerAccount"]["id"] == made.company
        assert set(login["claims"]["account"]["behaviors"]) == ALL
        [switched] = s.gql(docs.SWITCH, {"refreshToken": ticket["refreshToken"], "accountId": made.branch})
        branch_ticket = switched["body"]["data"]["refreshCustomerAuthTickets"]
        assert branch_ticket["customerAccount"]["id"] == made.branch
        assert set(switched["claims"]["refreshCustomerAuthTickets"]["behaviors"]) == ALL
        [back] = s.gql(docs.SWITCH, {"refreshToken": branch_ticket["refreshToken"], "accountId": made.company})
        admin = back["body"]["data"]["refreshCustomerAuthTickets"]["accessToken"]

        tree = s.one(docs.HIERARCHY, {"accountId": made.company}, admin)["getB2BAccountHierarchy"]
        by_id = {a["id"]: a for a in tree["accounts"]}
        assert set(by_id) == {made.company, made.branch}
        top, branch = by_id[made.company], by_id[made.branch]
        assert (top["parentAccountId"], top["rootAccountId"], top["accountType"], top["isActive"]) == (
            None, made.company, "B2B", True)
        assert (branch["parentAccountId"], branch["rootAccountId"]) == (made.company, made.company)
        assert {u["userId"]: [(r["roleId"], r["roleName"]) for r in u["roles"]] for u in top["users"]} == {
            made.admin_id: [(ADMIN_ROLE, "Admin")], made.purchaser_id: [(PURCHASER_ROLE, "Purchaser")]}
        assert [c["email"] for c in top["contacts"]] == ["bolt.office@example.com"]
        assert top["contacts"][0]["accountId"] == made.company
        first = s.one(docs.HIERARCHY_LEVELS, {"accountId": made.company}, admin)["getB2BAccountHierarchy"]
        assert first["hierarchy"] == {"id": made.company, "children": [{"id": made.branch, "children": []}]}

        # users: the storefront's add, list, roles, update, remove
        nia = s.one(docs.ADD_USER, {"accountId": made.company, "b2BUserAndAuthInfoInput": docs.new_user(
            "bolt.nia@example.com", "Nia", NON_PURCHASER_ROLE)}, admin)["createCustomerB2bAccountUser"]
        assert HEX32.match(nia["userId"]) and [(r["roleId"], r["roleName"]) for r in nia["roles"]] == [
            (NON_PURCHASER_ROLE, "Non-Purchaser")]
        users = s.one(docs.USERS, {"b2bAccountId": made.company, "pageSize": 20}, admin)["b2bAccountUsers"]
        assert users["totalCount"] == 3 and nia["userId"] in {u["userId"] for u in users["items"]}
        assert s.one(docs.ADD_ROLE, {"accountId": made.company, "userId": nia["userId"], "roleId": PURCHASER_ROLE},
                     admin) == {"addRoleToCustomerB2bAccount": True}
        roles = s.one(docs.USER_ROLES, {"accountId": made.company, "userId": nia["userId"]}, admin)
        assert sorted(r["roleId"] for r in roles["b2bAccountUserRoles"]["items"]) == [PURCHASER_ROLE, NON_PURCHASER_ROLE]
        assert s.one(docs.DELETE_ROLE, {"accountId": made.company, "userId": nia["userId"], "roleId": NON_PURCHASER_ROLE},
                     admin) == {"deleteB2bAccountRole": True}
        renamed = s.one(docs.UPDATE_USER, {"accountId": made.company, "userId": nia["userId"], "b2BUserInput": {
            "firstName": "Nina", "lastName": "Buyer", "emailAddress": "bolt.nia@example.com"}}, admin)
        assert renamed["updateCustomerB2bAccountUser"]["firstName"] == "Nina"
        assert [r["roleId"] for r in renamed["updateCustomerB2bAccountUser"]["roles"]] == [PURCHASER_ROLE]
        assert s.one(docs.REMOVE_USER, {"accountId": made.company, "userId": nia["userId"]}, admin) == {
            "removeCustomerB2bAccountUser": True}

        # child accounts: the hierarchy page's documents, sent by the merchant's application, then by the admin
        # user (1000 and 1010), who moves accounts within the tree below their account, and never their own
        with Storefront(stack.server.base_url, ADMIN).session() as merchant:
            child = merchant.one(docs.CREATE_ACCOUNT, {"b2BAccountInput": docs.new_account(
                "Bolt South", made.branch)})["createCustomerB2bAccount"]
            assert (child["parentAccountId"], child["companyOrOrganization"]) == (made.branch, "Bolt South")
            moved = merchant.one(docs.CHANGE_PARENT, {"accountId": child["id"], "parentAccountId": made.company})
            assert moved["changeB2BAccountParent"]["parentAccountId"] == made.company
            [a_loop] = merchant.gql(docs.CHANGE_PARENT, {"accountId": made.company, "parentAccountId": child["id"]})
            assert a_loop["body"]["errors"][0]["extensions"]["response"]["status"] == 400, a_loop
        there = s.one(docs.CHANGE_PARENT, {"accountId": child["id"], "parentAccountId": made.branch}, admin)
        assert there["changeB2BAccountParent"]["parentAccountId"] == made.branch
        back = s.one(docs.CHANGE_PARENT, {"accountId": child["id"], "parentAccountId": made.company}, admin)
        assert back["changeB2BAccountParent"]["parentAccountId"] == made.company
        [refused] = s.gql(docs.CHANGE_PARENT, {"accountId": made.company, "parentAccountId": made.branch}, admin)
        assert refused["body"]["errors"][0]["extensions"]["response"]["status"] == 403, refused
        # the admin user edits it (1000 manage account information, here on an account below theirs with 1010)
        edited = s.one(docs.UPDATE_ACCOUNT, {"accountId": child["id"], "b2BAccountInput": {
            "id": child["id"], "parentAccountId": made.company, "companyOrOrganization": "Bolt South-West",
            "taxId": "SW-1", "isActive": True}}, admin)["updateCustomerB2bAccount"]
        assert (edited["companyOrOrganization"], edited["taxId"]) == ("Bolt South-West", "SW-1")
        levels = s.one(docs.HIERARCHY_LEVELS, {"accountId": made.company}, admin)["getB2BAccountHierarchy"]
        assert sorted(c["id"] for c in levels["hierarchy"]["children"]) == sorted([made.branch, child["id"]])
        account = s.one(docs.ACCOUNT, {"accountId": made.company}, admin)["b2bAccount"]
        assert account["companyOrOrganization"] == "bolt Industries"
        assert {u["userId"] for u in account["users"]} == {made.admin_id, made.purchaser_id}

        # the purchaser: their behaviors, and what those do not allow
        [plogin] = s.gql(LOGIN, {"loginInput": {"username": made.purchaser_email, "password": PASSWORD}})
        assert set(plogin["claims"]["account"]["behaviors"]) == PURCHASER
        purchaser = plogin["body"]["data"]["account"]["accessToken"]
        for document, variables, field in (
                (docs.ADD_USER, {"accountId": made.company, "b2BUserAndAuthInfoInput": docs.new_user(
                    "bolt.eve@example.com", "Eve", ADMIN_ROLE)}, "createCustomerB2bAccountUser"),
                (docs.ADD_ROLE, {"accountId": made.company, "userId": made.purchaser_id, "roleId": ADMIN_ROLE},
                 "addRoleToCustomerB2bAccount"),
                (docs.UPDATE_ACCOUNT, {"accountId": made.company, "b2BAccountInput": {
                    "id": made.company, "companyOrOrganization": "Mine now"}}, "updateCustomerB2bAccount"),
                (docs.HIERARCHY, {"accountId": made.branch}, "getB2BAccountHierarchy")):
            [answer] = s.gql(document, variables, purchaser)
            body = answer["body"]
            assert body["data"] is None or body["data"][field] is None, body
            response = body["errors"][0]["extensions"]["response"]
            assert response["status"] == 403 and response["body"]["message"], body
        # nothing of that happened
        still = s.one(docs.ACCOUNT, {"accountId": made.company}, admin)["b2bAccount"]
        assert still["companyOrOrganization"] == "bolt Industries"
        roles = s.one(docs.USER_ROLES, {"accountId": made.company, "userId": made.purchaser_id}, admin)
        assert [r["roleId"] for r in roles["b2bAccountUserRoles"]["items"]] == [PURCHASER_ROLE]
