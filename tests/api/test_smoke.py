from __future__ import annotations

import httpx

from tests.conftest import PASSWORD


async def test_register_login_refresh_current(client: httpx.AsyncClient, app_headers: dict[str, str]) -> None:
    r = await client.post("/api/commerce/customer/accounts/Add-Account-And-Login", headers=app_headers,
                          json={"account": {"emailAddress": "ann@example.com"}, "password": PASSWORD})
    assert r.status_code == 200, r.text
    r = await client.post("/api/commerce/customer/authtickets", headers=app_headers,
                          json={"username": "ANN@example.com", "password": PASSWORD})
    assert r.status_code == 200, r.text
    first = r.json()
    r = await client.put(f"/api/commerce/customer/authtickets/refresh?refreshToken={first['refreshToken']}",
                         headers=app_headers)
    assert r.status_code == 200, r.text
    r = await client.get("/api/commerce/customer/accounts/current",
                         headers={"Authorization": "Bearer " + r.json()["jwtAccessToken"]})
    assert r.status_code == 200, r.text
    assert r.json()["emailAddress"] == "ann@example.com"
