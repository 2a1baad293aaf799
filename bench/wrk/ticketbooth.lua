-- Ticketbooth load scenarios for wrk (bench/run.py writes the data file and starts wrk):
--   wrk -t T -c C -d S -s bench/wrk/ticketbooth.lua http://127.0.0.1:PORT -- SCENARIO DATAFILE T
-- SCENARIO: healthz | anonymous | refresh | current | current_claims | login | mix | gql_anonymous | gql_current |
--   gql_login
-- DATAFILE: one "key value" per line: app_token, tenant, site, password, and any number of
--   refresh (a refresh token), jwt (a ticket JWT), user (a login name), claims (a ticket's accessToken);
--   for GraphQL: gql_anonymous and gql_current (the JSON bodies), gql_login_query (the document, as a
--   JSON string).
-- current: the ticket JWT alone as Bearer. current_claims: what Kibo's REST SDKs send for the same request
--   with an application: x-vol-app-claims (the app token), x-vol-user-claims (the ticket's opaque
--   accessToken), x-vol-tenant, x-vol-site; the same two credentials as gql_current, so its REST twin.
-- gql_*: POST /graphql as Kibo's storefront sends it (Bearer app token, x-vol-user-claims `undefined` or
--   the ticket's accessToken, no tenant or site headers). A GraphQL error answers 200: every answer with
--   "errors" is counted as an error (graphql_errors).
--
-- Refresh chains: every refresh token is held by at most one request at a time. Each thread keeps
-- a queue of the tokens it owns; a refresh request takes one from the queue, and its response puts
-- the successor back. So a connection always refreshes a live chain (never a token already used,
-- which would be a replay and revoke the chain), and the chains never share a token.
-- mix: 35% refresh, 35% current account, 25% anonymous, 5% login (a storefront: 70% refresh or
--   current-account); the tickets that anonymous and login requests return join the refresh pool.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local scenario
local app_headers, jwt_headers, login_headers = nil, {}, nil
local login_bodies = {}
local pool, head, tail = {}, 1, 0
local next_jwt, next_user = 0, 0
starved = 0   -- refresh requests that found no live chain (read by done())
graphql_errors = 0   -- 200 answers of /graphql that carry errors (read by done())
local gql_headers, gql_claims_headers, gql_login_bodies = nil, {}, {}
local rest_claims_headers = {}
local gql_bodies = {}

local function push(token)
  if tail - head < 10000 then
    tail = tail + 1
    pool[tail] = token
  end
end

local function pop()
  if head > tail then return nil end
  local token = pool[head]
  pool[head] = nil
  head = head + 1
  return token
end

function init(args)
  scenario = args[1]
  local nthreads = tonumber(args[3]) or 1
  local me = id or 0
  local values, refresh_seen, users, jwts, claims = {}, 0, {}, {}, {}
  for line in io.lines(args[2]) do
    local key, value = line:match("^(%S+) (.*)$")
    if key == "refresh" then
      if refresh_seen % nthreads == me then push(value) end
      refresh_seen = refresh_seen + 1
    elseif key == "jwt" then
      table.insert(jwts, value)
    elseif key == "user" then
      table.insert(users, value)
    elseif key == "claims" then
      table.insert(claims, value)
    elseif key then
      values[key] = value
    end
  end
  app_headers = {["Authorization"] = "Bearer " .. (values.app_token or ""),
                 ["x-vol-tenant"] = values.tenant, ["x-vol-site"] = values.site}
  login_headers = {["Authorization"] = app_headers["Authorization"], ["x-vol-tenant"] = values.tenant,
                   ["x-vol-site"] = values.site, ["Content-Type"] = "application/json"}
  for _, jwt in ipairs(jwts) do
    table.insert(jwt_headers, {["Authorization"] = "Bearer " .. jwt})
  end
  for _, user in ipairs(users) do
    table.insert(login_bodies, '{"username":"' .. user .. '","password":"' .. (values.password or "") .. '"}')
  end
  gql_headers = {["Authorization"] = app_headers["Authorization"], ["x-vol-user-claims"] = "undefined",
                 ["Content-Type"] = "application/json"}
  for _, token in ipairs(claims) do
    table.insert(gql_claims_headers, {["Authorization"] = app_headers["Authorization"],
                                      ["x-vol-user-claims"] = token, ["Content-Type"] = "application/json"})
    table.insert(rest_claims_headers, {["x-vol-app-claims"] = values.app_token or "", ["x-vol-user-claims"] = token,
                                       ["x-vol-tenant"] = values.tenant, ["x-vol-site"] = values.site})
  end
  gql_bodies.anonymous, gql_bodies.current = values.gql_anonymous, values.gql_current
  for _, user in ipairs(users) do
    table.insert(gql_login_bodies, '{"query":' .. (values.gql_login_query or '""') ..
                 ',"variables":{"loginInput":{"username":"' .. user .. '","password":"' .. (values.password or "") .. '"}}}')
  end
  next_jwt, next_user = me, me
  math.randomseed(os.time() * 100 + me)
  if scenario ~= "refresh" and scenario ~= "mix" and not scenario:match("^gql_") then
    response = nil  -- wrk then skips parsing bodies
  end
end

-- TB_WRK_PACE_MS (environment): each connection waits that long before each of its requests, so
-- the load is offered at a set rate (connections / pace) instead of as fast as answers come back
local pace_ms = tonumber(os.getenv("TB_WRK_PACE_MS") or "")
if pace_ms then
  function delay()
    return pace_ms
  end
end

-- requests that never change are formatted once (the first time they are asked for)
local fixed = {}

local function healthz()
  fixed.healthz = fixed.healthz or wrk.format("GET", "/healthz")
  return fixed.healthz
end

local function anonymous()
  fixed.anonymous = fixed.anonymous or wrk.format("GET", "/api/commerce/customer/authtickets/anonymousshopper",
                                                  app_headers)
  return fixed.anonymous
end

local function refresh(fallback)
  local token = pop()
  if token == nil then
    starved = starved + 1
    if fallback then return fallback() end
    token = "00000000000000000000000000000000"  -- answered 401: counted as an error, as it should be
  end
  return wrk.format("PUT", "/api/commerce/customer/authtickets/refresh?refreshToken=" .. token, app_headers)
end

local function current()
  next_jwt = next_jwt + 1
  return wrk.format("GET", "/api/commerce/customer/accounts/current", jwt_headers[next_jwt % #jwt_headers + 1])
end

local function current_claims()
  next_jwt = next_jwt + 1
  return wrk.format("GET", "/api/commerce/customer/accounts/current",
                    rest_claims_headers[next_jwt % #rest_claims_headers + 1])
end

local function login()
  next_user = next_user + 1
  return wrk.format("POST", "/api/commerce/customer/authtickets", login_headers,
                    login_bodies[next_user % #login_bodies + 1])
end

local function mix()
  local r = math.random()
  if r < 0.35 then return refresh(anonymous) end
  if r < 0.70 then return current() end
  if r < 0.95 then return anonymous() end
  return login()
end

local function gql_anonymous()
  fixed.gql_anonymous = fixed.gql_anonymous or wrk.format("POST", "/graphql", gql_headers, gql_bodies.anonymous)
  return fixed.gql_anonymous
end

local function gql_current()
  next_jwt = next_jwt + 1
  return wrk.format("POST", "/graphql", gql_claims_headers[next_jwt % #gql_claims_headers + 1], gql_bodies.current)
end

local function gql_login()
  next_user = next_user + 1
  return wrk.format("POST", "/graphql", gql_headers, gql_login_bodies[next_user % #gql_login_bodies + 1])
end

local scenarios = {healthz = healthz, anonymous = anonymous, refresh = refresh, current = current,
                   current_claims = current_claims, login = login, mix = mix, gql_anonymous = gql_anonymous, gql_current = gql_current,
                   gql_login = gql_login}

function request()
  return scenarios[scenario]()
end

function response(status, headers, body)
  if scenario:match("^gql_") then
    if status == 200 and body and body:find('"errors"', 1, true) then graphql_errors = graphql_errors + 1 end
    return
  end
  if status == 200 and body then
    local token = body:match('"refreshToken":"(%x+)"')
    if token then push(token) end
  end
end

function done(summary, latency, requests)
  local starved_total, graphql_total = 0, 0
  for _, thread in ipairs(threads) do
    starved_total = starved_total + (thread:get("starved") or 0)
    graphql_total = graphql_total + (thread:get("graphql_errors") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d,"starved":%d,"graphql_errors":%d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, starved_total, graphql_total))
end
