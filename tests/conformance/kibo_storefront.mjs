#!/usr/bin/env node
// Conformance driver for Kibo's GraphQL storefronts: runs ONE scenario against a live Ticketbooth the way
// Kibo's Next.js storefront talks to Kibo, and prints ONE JSON object on stdout (`session` first prints one
// line for each call it read on stdin).
//
// The storefront uses @kibocommerce/graphql-client (1.0.3-beta.10, pinned in package.json) for REST only:
// its APIAuthClient for the app token (with a memory cache of the ticket) and its ShopperAuthClient for the
// anonymous ticket and the refresh. Everything else is `POST {apiHost}/graphql` with JSON {query, variables}
// and the headers `Authorization: Bearer <app token>`, `x-vol-user-claims: <the cookie's accessToken>` (the
// header value is `undefined` when it has none: the fetch turns the JS undefined into that string) and
// `Content-Type: application/json`; no tenant or site headers.
//
//   node kibo_storefront.mjs SCENARIO [ARGS...]
//
// Scenarios:
//   anonymous                          ShopperAuthClient.anonymousAuth(): the ticket as the client normalises it
//                                      (the storefront's cookie fields)
//   refresh REFRESH_TOKEN [N]          N (default 1) ShopperAuthClient.refreshUserAuth({refreshToken}) at once
//                                      (a storefront refreshing one cookie in several requests)
//   gql DOCUMENT VARIABLES_JSON [USER_CLAIMS] [N]
//                                      N (default 1) POST /graphql at once, as the storefront's fetcher; USER_CLAIMS
//                                      absent or empty: the storefront's `options.userClaims` is undefined
//   session                            several `gql` calls in one run, for a flow whose next call needs the answer
//                                      to the last: reads one JSON object a line on stdin, {document, variables,
//                                      userClaims, n} (userClaims absent, null or empty: undefined; n default 1),
//                                      and writes one JSON line for each, {"ok": true, "result": [answers as gql's]}
//                                      or {"ok": false, "error"}, until stdin ends; then the usual last line
//                                      {"scenario", "ok", "result": {"calls": COUNT}}. One app token for all.
//   apollo DOCUMENT VARIABLES_JSON TICKET_JSON
//                                      one query through the client's own CreateApolloClient (its Apollo links: app
//                                      token, x-vol-user-claims from the ticket its clientAuthHooks read, which its
//                                      ShopperAuthManager refreshes over REST first when accessTokenExpiration passed)
//
// A `gql` result is a list of {status, sent: {headers}, body, claims}: `claims` maps each root field whose answer
// has a jwtAccessToken to what the storefront reads from it: the `https://www.kibocommerce.com/user_claims`
// object, decoded as the storefront decodes it (base64 of the payload, no verification), and `behaviors`, the
// behavior ids of its `bv` pairs (offset x 32 + bit i of each 32-bit mask).
//
// Environment: TB_BASE_URL (http://127.0.0.1:PORT), TB_CLIENT_ID, TB_CLIENT_SECRET. The API host and the
// auth host are both TB_BASE_URL (KIBO_API_HOST and KIBO_AUTH_HOST of the storefront).
// Output: {"scenario", "ok": true, "result"} or {"scenario", "ok": false, "error": {kind, message}}.
// Exit 0 for both; 2 for bad usage.
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';

const require = createRequire(import.meta.url);
const client = require('@kibocommerce/graphql-client');
const { APIAuthClient, ShopperAuthClient, CreateApolloClient, gql } = client;
// The fetch the client itself depends on (isomorphic-fetch -> node-fetch 2), as the storefront passes one.
const clientRequire = createRequire(require.resolve('@kibocommerce/graphql-client'));
const clientFetch = clientRequire('isomorphic-fetch');
// node-fetch's Headers, which builds the request headers of that fetch: what it makes of each value is sent
const { Headers: FetchHeaders } = createRequire(clientRequire.resolve('isomorphic-fetch'))('node-fetch');

const USER_CLAIMS = 'https://www.kibocommerce.com/user_claims';

class UsageError extends Error {}

function readEnv() {
  const base = (process.env.TB_BASE_URL || '').replace(/\/+$/, '');
  if (!base) throw new UsageError('TB_BASE_URL is required');
  return { apiHost: base, authHost: base, clientId: process.env.TB_CLIENT_ID, sharedSecret: process.env.TB_CLIENT_SECRET };
}

function clients(config) {
  let appTicket;
  const cache = { getAuthTicket: async () => appTicket, setAuthTicket: (t) => { appTicket = t; } };
  const apiAuth = new APIAuthClient(config, clientFetch, cache);
  const shopperAuth = new ShopperAuthClient(config, clientFetch, apiAuth);
  return { apiAuth, shopperAuth };
}

function jsonObject(text, what) {
  if (text === undefined || text === '') return {};
  try {
    const value = JSON.parse(text);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value;
  } catch { /* below */ }
  throw new UsageError(`${what} must be a JSON object: ${text}`);
}

function count(text) {
  const n = text === undefined || text === '' ? 1 : Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 32) throw new UsageError(`N must be 1..32, not ${text}`);
  return n;
}

// What the storefront reads from a ticket JWT after a login or a registration.
function storefrontClaims(jwtAccessToken) {
  const payload = JSON.parse(Buffer.from(jwtAccessToken.split('.')[1], 'base64').toString('ascii'));
  const claims = payload[USER_CLAIMS];
  const bv = claims?.bv;
  const behaviors = [];
  if (Array.isArray(bv)) {
    for (let i = 0; i + 1 < bv.length; i += 2) {
      for (let bit = 0; bit < 32; bit += 1) {
        if ((bv[i + 1] >>> bit) & 1) behaviors.push(bv[i] * 32 + bit);
      }
    }
  }
  return { claims, behaviors };
}

async function storefrontGraphql(env, apiAuth, query, variables, userClaims) {
  const authToken = await apiAuth.getAccessToken();
  const headers = { Authorization: `Bearer ${authToken}`, 'x-vol-user-claims': userClaims, 'Content-Type': 'application/json' };
  const response = await clientFetch(`${env.apiHost}/graphql`, {
    method: 'POST', headers, body: JSON.stringify({ query, variables }),
  });
  const sent = new FetchHeaders(headers);
  const body = await response.json();
  const claims = {};
  for (const [field, value] of Object.entries(body?.data || {})) {
    if (value && typeof value.jwtAccessToken === 'string') claims[field] = storefrontClaims(value.jwtAccessToken);
  }
  return {
    status: response.status,
    sent: { headers: { 'x-vol-user-claims': sent.get('x-vol-user-claims'), bearer: sent.get('authorization')?.startsWith('Bearer ') } },
    body,
    claims,
  };
}

// One line of the session's stdin: a storefront GraphQL call, made `n` times at once.
async function sessionCall(env, apiAuth, line) {
  const call = jsonObject(line, 'a session line');
  if (typeof call.document !== 'string' || !call.document) throw new UsageError('a session line needs a document');
  const variables = call.variables === undefined || call.variables === null ? {} : call.variables;
  if (typeof variables !== 'object' || Array.isArray(variables)) throw new UsageError('variables must be an object');
  const userClaims = call.userClaims ? String(call.userClaims) : undefined;
  const n = count(call.n === undefined || call.n === null ? '' : String(call.n));
  return Promise.all(Array.from({ length: n }, () => storefrontGraphql(env, apiAuth, call.document, variables, userClaims)));
}

function writeLine(value) {
  return new Promise((resolve) => process.stdout.write(JSON.stringify(value) + '\n', resolve));
}

async function session(env, apiAuth) {
  await apiAuth.getAccessToken(); // one app token for the whole session, as the storefront's cached one
  let calls = 0;
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
    if (!line.trim()) continue;
    calls += 1;
    try {
      await writeLine({ ok: true, result: await sessionCall(env, apiAuth, line) });
    } catch (error) {
      await writeLine({ ok: false, error: { kind: error?.name || typeof error, message: error?.message ?? String(error) } });
    }
  }
  return { calls };
}

async function run(scenario, args) {
  const env = readEnv();
  const { apiAuth, shopperAuth } = clients(env);
  switch (scenario) {
    case 'anonymous':
      return shopperAuth.anonymousAuth();
    case 'refresh': {
      if (!args[0]) throw new UsageError('usage: refresh REFRESH_TOKEN [N]');
      await apiAuth.getAccessToken(); // one app token for all, as the storefront's cached one
      const n = count(args[1]);
      return Promise.all(Array.from({ length: n }, () => shopperAuth.refreshUserAuth({ refreshToken: args[0] })));
    }
    case 'gql': {
      if (!args[0]) throw new UsageError('usage: gql DOCUMENT VARIABLES_JSON [USER_CLAIMS] [N]');
      const variables = jsonObject(args[1], 'VARIABLES_JSON');
      const userClaims = args[2] ? args[2] : undefined;
      await apiAuth.getAccessToken();
      const n = count(args[3]);
      return Promise.all(Array.from({ length: n }, () => storefrontGraphql(env, apiAuth, args[0], variables, userClaims)));
    }
    case 'session':
      return session(env, apiAuth);
    case 'apollo': {
      if (args.length < 3) throw new UsageError('usage: apollo DOCUMENT VARIABLES_JSON TICKET_JSON');
      let ticket = jsonObject(args[2], 'TICKET_JSON');
      const apollo = CreateApolloClient({
        api: { apiHost: env.apiHost, authHost: env.authHost, clientId: env.clientId, sharedSecret: env.sharedSecret },
        clientAuthHooks: { onTicketChange: (t) => { ticket = t; }, onTicketRead: () => ticket, onTicketRemove: () => { ticket = undefined; } },
      });
      const answer = await apollo.query({ query: gql(args[0]), variables: jsonObject(args[1], 'VARIABLES_JSON'), fetchPolicy: 'no-cache' });
      return { data: answer.data, ticketAfter: ticket };
    }
    default:
      throw new UsageError(`unknown scenario ${scenario}`);
  }
}

async function main() {
  const [scenario, ...args] = process.argv.slice(2);
  let out;
  let code = 0;
  // the client logs GraphQL and network errors with console.error; keep stdout for the one JSON line
  console.log = (...parts) => console.error(...parts);
  try {
    out = { scenario, ok: true, result: (await run(scenario, args)) ?? null };
  } catch (error) {
    if (error instanceof UsageError) code = 2;
    out = { scenario, ok: false, error: { kind: error?.name || typeof error, message: error?.message ?? String(error) } };
  }
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(code));
}

main();
