#!/usr/bin/env node
// Conformance driver: runs ONE scenario against a live Ticketbooth using Kibo's own npm SDKs
// (@kibocommerce/rest-sdk 3.2634.1, @kibocommerce/sdk-authentication 1.0.1, pinned in
// package.json) and prints ONE JSON object on stdout.
//
//   node kibo_client.mjs SCENARIO [ARGS...]
//
// Scenarios (EXTRA_JSON is an optional JSON object merged into the request body):
//   app-token                              APIAuthClient.authenticate()
//   app-token-refresh                      authenticate(), then refreshTicket(thatTicket)
//   anonymous [FIELDS]                     StorefrontAuthTicketApi.createAnonymousShopperAuthTicket
//   register EMAIL PASSWORD [EXTRA_JSON]   CustomerAccountApi.addAccountAndLogin
//   login EMAIL PASSWORD [EXTRA_JSON]      StorefrontAuthTicketApi.createUserAuthTicket
//   login-response-fields EMAIL PASSWORD FIELDS
//   refresh REFRESH_TOKEN [ACCOUNT_ID]     StorefrontAuthTicketApi.refreshUserAuthTicket
//   current TOKEN [AUTH] [FIELDS]          CustomerAccountApi.getCurrentAccount, AUTH is one of
//       bearer        (default) TOKEN is the ticket's jwtAccessToken, sent as the only credential
//                     (Authorization: Bearer TOKEN), the SDK's `accessToken` option.
//       claims        TOKEN is the ticket's opaque accessToken, sent by the SDK's `userClaims` +
//                     `appClaims` options: x-vol-user-claims: TOKEN and x-vol-app-claims: <app
//                     access_token>, and NO Authorization header (the SDK never sends both).
//       bearer+claims Authorization: Bearer <app access_token> plus x-vol-user-claims: TOKEN, added
//                     through the SDK's per-call initOverrides hook (rest-sdk has no option for it).
//   create-login ACCOUNT_ID EMAIL PASSWORD [EXTRA_JSON]   CustomerAccountApi.addLoginToExistingCustomer
//
// Environment:
//   TB_BASE_URL       e.g. http://127.0.0.1:8765 (required)
//   TB_TENANT, TB_SITE  tenant and site ids (sent as x-vol-tenant / x-vol-site; empty = not sent)
//   TB_CLIENT_ID, TB_CLIENT_SECRET  application credentials
//   TB_MODE           direct | discovery. direct (default for http://): the SDK's API host is
//                     TB_BASE_URL and its app token comes from an APIAuthClient on TB_BASE_URL.
//                     discovery (default for https://): the stock rest-sdk configuration
//                     {clientId, sharedSecret, authHost}; the SDK then GETs
//                     https://HOST/api/platform/tenants/{tenant} and calls https://{domain}/api/...
//                     (the SDK hard-codes https:// for both).
//   TB_TLS_INSECURE=1 accept a self-signed certificate (else use NODE_EXTRA_CA_CERTS)
//   TB_TRACE=1        add "trace": every HTTP exchange the SDKs made (via their fetchApi hook)
//
// Output: {"scenario", "ok": true, "result": <what the SDK returned>} or
//         {"scenario", "ok": false, "error": {kind, status, statusText, errorCode, message, ...}}.
// Exit 0 for both (an HTTP error the SDK throws is a normal result); 2 for bad usage; 1 for a bug.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Configuration } = require('@kibocommerce/rest-sdk');
const { StorefrontAuthTicketApi, CustomerAccountApi } = require('@kibocommerce/rest-sdk/clients/Customer');
const { apiAuthMemCache } = require('@kibocommerce/rest-sdk/utilities');
const { APIAuthClient } = require('@kibocommerce/sdk-authentication');
// The very fetch implementation rest-sdk uses by default (isomorphic-fetch -> node-fetch 2).
const sdkFetch = createRequire(require.resolve('@kibocommerce/rest-sdk'))('isomorphic-fetch');

class UsageError extends Error {}

// ---------------------------------------------------------------- environment and SDK set-up

function readEnv() {
  const raw = process.env.TB_BASE_URL;
  if (!raw) throw new UsageError('TB_BASE_URL is required');
  let url;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`TB_BASE_URL is not a URL: ${raw}`);
  }
  const baseUrl = raw.replace(/\/+$/, '');
  const mode = process.env.TB_MODE || (url.protocol === 'https:' ? 'discovery' : 'direct');
  if (!['direct', 'discovery'].includes(mode)) throw new UsageError(`TB_MODE must be direct or discovery, not ${mode}`);
  if (mode === 'discovery' && (url.protocol !== 'https:' || url.pathname !== '/')) {
    throw new UsageError('TB_MODE=discovery needs TB_BASE_URL=https://HOST[:PORT] (the SDK hard-codes https:// and /api)');
  }
  if (process.env.TB_TLS_INSECURE === '1') process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  return {
    baseUrl,
    hostPort: url.host,
    mode,
    tenantId: process.env.TB_TENANT || undefined,
    siteId: process.env.TB_SITE || undefined,
    clientId: process.env.TB_CLIENT_ID || undefined,
    sharedSecret: process.env.TB_CLIENT_SECRET || undefined,
    trace: process.env.TB_TRACE === '1',
  };
}

const traceLog = [];
const pendingTrace = [];

// Wraps the SDK's fetch only to record the exchange; the SDK still builds every request.
function tracingFetch(url, init = {}) {
  const entry = { method: init.method || 'GET', url: String(url), headers: { ...(init.headers || {}) }, body: init.body ?? null };
  traceLog.push(entry);
  return sdkFetch(url, init).then(
    (response) => {
      entry.status = response.status;
      entry.responseHeaders = Object.fromEntries(response.headers.entries());
      pendingTrace.push(response.clone().text().then((text) => { entry.responseBody = text; }, () => {}));
      return response;
    },
    (error) => {
      entry.error = String(error?.message || error);
      throw error;
    },
  );
}

function makeSdk(env) {
  const fetchApi = env.trace ? tracingFetch : sdkFetch;
  // Same cache wiring as rest-sdk's Configuration (client-runtime/configuration.js).
  const cacheHandler = {
    getAuthTicket: async () => apiAuthMemCache.getAuthTicket(env.clientId),
    setAuthTicket: async (ticket) => { await apiAuthMemCache.setAuthTicket(env.clientId, ticket); },
  };
  const authHost = env.mode === 'discovery' ? env.hostPort : env.baseUrl;
  let authClient;
  const appAuthClient = () => {
    authClient ??= new APIAuthClient({ clientId: env.clientId, sharedSecret: env.sharedSecret, authHost }, fetchApi, cacheHandler);
    return authClient;
  };
  const context = { tenantId: env.tenantId, siteId: env.siteId, fetchApi: env.trace ? tracingFetch : undefined };

  // A Configuration as an application uses it; `extra` may add accessToken (a shopper JWT).
  const appConfiguration = (extra = {}) => {
    if (env.mode === 'discovery') {
      return new Configuration({
        ...context, apiHost: env.baseUrl, clientId: env.clientId, sharedSecret: env.sharedSecret, authHost, ...extra,
      });
    }
    return new Configuration({
      ...context, apiHost: env.baseUrl, accessToken: () => appAuthClient().getAccessToken(), ...extra,
    });
  };
  // Legacy claims headers: only possible without app credentials in the Configuration.
  const claimsConfiguration = (userClaims, appClaims) => new Configuration({ ...context, apiHost: env.baseUrl, userClaims, appClaims });

  return {
    authHost,
    fetchApi,
    appAuthClient,
    appConfiguration,
    claimsConfiguration,
    tickets: (cfg = appConfiguration()) => new StorefrontAuthTicketApi(cfg),
    accounts: (cfg = appConfiguration()) => new CustomerAccountApi(cfg),
  };
}

// ---------------------------------------------------------------- results

class SdkFailure {
  constructor(error) { this.error = error; }
}

// Runs one SDK call; anything it throws is a result, not a driver failure.
async function sdk(fn) {
  try {
    return await fn();
  } catch (error) {
    throw new SdkFailure(error);
  }
}

function describeError(error) {
  const out = { kind: error?.name || typeof error, message: error?.message ?? String(error) };
  if (error?.name === 'ResponseError') {
    const apiError = error.apiError ?? null;
    out.status = error.response?.status ?? null;
    out.statusText = error.response?.statusText ?? null;
    out.url = error.response?.url ?? null;
    // the SDK puts {} here when the response had no x-vol-correlation header
    out.correlationId = typeof error.response?.correlationId === 'string' ? error.response.correlationId : null;
    out.errorCode = apiError?.errorCode ?? null;
    out.apiError = apiError;
    // ResponseError JSON.stringify()s additionalErrorData in place; give tests the parsed form too.
    if (typeof apiError?.additionalErrorData === 'string') {
      try { out.additionalErrorData = JSON.parse(apiError.additionalErrorData); } catch { /* leave as is */ }
    }
  } else {
    out.status = null;
    out.errorCode = null;
    if (error?.cause) out.cause = String(error.cause?.message || error.cause);
  }
  return out;
}

// ---------------------------------------------------------------- scenarios

function need(args, n, usage) {
  if (args.length < n) throw new UsageError(`usage: ${usage}`);
  return args;
}

function extraJson(text) {
  if (text === undefined || text === '') return {};
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`EXTRA_JSON is not JSON: ${text}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new UsageError('EXTRA_JSON must be a JSON object');
  return value;
}

const scenarios = {
  async 'app-token'(s) {
    return sdk(() => s.appAuthClient().authenticate());
  },

  async 'app-token-refresh'(s) {
    const first = await sdk(() => s.appAuthClient().authenticate());
    const refreshed = await sdk(() => s.appAuthClient().refreshTicket(first));
    return { first, refreshed };
  },

  async anonymous(s, [fields]) {
    return sdk(() => s.tickets().createAnonymousShopperAuthTicket(fields === undefined ? {} : { responseFields: fields }));
  },

  async register(s, args) {
    const [email, password, extra] = need(args, 2, 'register EMAIL PASSWORD [EXTRA_JSON]');
    const more = extraJson(extra);
    const customerAccountAndAuthInfo = {
      ...more,
      account: { emailAddress: email, userName: email, ...(more.account || {}) },
      password,
      isImport: more.isImport ?? false,
    };
    return sdk(() => s.accounts().addAccountAndLogin({ customerAccountAndAuthInfo }));
  },

  async login(s, args) {
    const [email, password, extra] = need(args, 2, 'login EMAIL PASSWORD [EXTRA_JSON]');
    const customerUserAuthInfo = { username: email, password, ...extraJson(extra) };
    return sdk(() => s.tickets().createUserAuthTicket({ customerUserAuthInfo }));
  },

  async 'login-response-fields'(s, args) {
    const [email, password, fields] = need(args, 3, 'login-response-fields EMAIL PASSWORD FIELDS');
    return sdk(() => s.tickets().createUserAuthTicket({ responseFields: fields, customerUserAuthInfo: { username: email, password } }));
  },

  async refresh(s, args) {
    const [refreshToken, accountId] = need(args, 1, 'refresh REFRESH_TOKEN [ACCOUNT_ID]');
    const request = { refreshToken };
    if (accountId !== undefined) request.accountId = Number(accountId);
    return sdk(() => s.tickets().refreshUserAuthTicket(request));
  },

  async current(s, args) {
    const [token, auth = 'bearer', fields] = need(args, 1, 'current TOKEN [bearer|claims|bearer+claims] [FIELDS]');
    const request = fields === undefined ? {} : { responseFields: fields };
    if (auth === 'bearer') {
      return sdk(() => s.accounts(s.appConfiguration({ accessToken: token })).getCurrentAccount(request));
    }
    if (auth === 'claims') {
      const appToken = await sdk(() => s.appAuthClient().getAccessToken());
      return sdk(() => s.accounts(s.claimsConfiguration(token, appToken)).getCurrentAccount(request));
    }
    if (auth === 'bearer+claims') {
      const addUserClaims = async ({ init }) => ({ headers: { ...init.headers, 'x-vol-user-claims': token } });
      return sdk(() => s.accounts().getCurrentAccount(request, addUserClaims));
    }
    throw new UsageError(`unknown AUTH ${auth}: use bearer, claims or bearer+claims`);
  },

  async 'create-login'(s, args) {
    const [accountId, email, password, extra] = need(args, 3, 'create-login ACCOUNT_ID EMAIL PASSWORD [EXTRA_JSON]');
    if (!/^\d+$/.test(accountId)) throw new UsageError(`ACCOUNT_ID must be a number: ${accountId}`);
    const customerLoginInfo = { emailAddress: email, username: email, password, isImport: false, ...extraJson(extra) };
    return sdk(() => s.accounts().addLoginToExistingCustomer({ accountId: Number(accountId), customerLoginInfo }));
  },
};

// ---------------------------------------------------------------- main

async function main() {
  const [name, ...args] = process.argv.slice(2);
  const out = { scenario: name ?? null };
  let code = 0;
  try {
    if (!name || !Object.hasOwn(scenarios, name)) {
      throw new UsageError(`usage: kibo_client.mjs SCENARIO [ARGS...]; scenarios: ${Object.keys(scenarios).join(', ')}`);
    }
    const env = readEnv();
    out.mode = env.mode;
    out.result = await scenarios[name](makeSdk(env), args);
    out.ok = true;
  } catch (error) {
    if (error instanceof SdkFailure) {
      out.ok = false;
      out.error = describeError(error.error);
    } else if (error instanceof UsageError) {
      out.ok = false;
      out.error = { kind: 'UsageError', message: error.message, status: null, errorCode: null };
      code = 2;
    } else {
      process.stderr.write(`kibo_client.mjs: driver bug: ${error?.stack || error}\n`);
      out.ok = false;
      out.error = { kind: 'DriverBug', message: String(error?.message || error), status: null, errorCode: null };
      code = 1;
    }
  }
  if (traceLog.length || process.env.TB_TRACE === '1') {
    await Promise.all(pendingTrace);
    out.trace = traceLog;
  }
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(code));
}

main();
