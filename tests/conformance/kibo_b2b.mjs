#!/usr/bin/env node
// Conformance driver for B2B accounts: runs ONE scenario against a live Ticketbooth with Kibo's own
// @kibocommerce/rest-sdk (3.2634.1: its B2BAccountApi and StorefrontAuthTicketApi, the app token from
// @kibocommerce/sdk-authentication's APIAuthClient, as kibo_client.mjs sets them up) and prints ONE JSON
// object on stdout.
//
//   node kibo_b2b.mjs SCENARIO [ARGS...]
//
// Scenarios:
//   merchant PREFIX           the merchant script of issue 16 (run it with an application that has the
//                             customer:admin behavior): a company and a child branch (addAccount), both
//                             approved (updateB2BAccountStatus approve), an admin and a purchaser added to the
//                             company (addUser with their role), the admin added to the branch too (a user of two
//                             accounts), the hierarchy, the users, their roles and behaviors read back.
//                             PREFIX (lowercase letters and digits) keeps its names apart. Result: {steps, ids}.
//   login EMAIL PASSWORD [ACCOUNT_ID]
//                             StorefrontAuthTicketApi.createUserAuthTicket with `accountId` in the
//                             CustomerUserAuthInfo body when given; the ticket plus what a B2B storefront reads
//                             from its JWT: `claims` (https://www.kibocommerce.com/user_claims) and `behaviors`
//                             (the ids of its `bv` pairs: offset x 32 + bit i of each 32-bit mask)
//   refresh REFRESH_TOKEN [ACCOUNT_ID]
//                             StorefrontAuthTicketApi.refreshUserAuthTicket({refreshToken, accountId}), read as login's
//   call METHOD PARAMS_JSON [TOKEN]
//                             one B2BAccountApi method with these request parameters, as the application or, with
//                             TOKEN (a ticket's jwtAccessToken), as that B2B user (Authorization: Bearer TOKEN)
//
// Environment: TB_BASE_URL (http://127.0.0.1:PORT), TB_TENANT, TB_SITE, TB_CLIENT_ID, TB_CLIENT_SECRET.
// Output: {"scenario", "ok": true, "result"} or {"scenario", "ok": false, "error": {kind, status, errorCode,
// message, apiError, ...}}. Exit 0 for both (an HTTP error the SDK throws is a normal result); 2 for bad usage;
// 1 for a driver bug.
import { createRequire } from 'node:module';
import { SdkFailure, Steps, UsageError, describeError, jsonObject, sdk } from './driver_support.mjs';

const require = createRequire(import.meta.url);
const { Configuration } = require('@kibocommerce/rest-sdk');
const { B2BAccountApi, StorefrontAuthTicketApi } = require('@kibocommerce/rest-sdk/clients/Customer');
const { apiAuthMemCache } = require('@kibocommerce/rest-sdk/utilities');
const { APIAuthClient } = require('@kibocommerce/sdk-authentication');
const sdkFetch = createRequire(require.resolve('@kibocommerce/rest-sdk'))('isomorphic-fetch');

const USER_CLAIMS = 'https://www.kibocommerce.com/user_claims';

function readEnv() {
  const raw = process.env.TB_BASE_URL;
  if (!raw) throw new UsageError('TB_BASE_URL is required');
  return {
    baseUrl: raw.replace(/\/+$/, ''),
    tenantId: process.env.TB_TENANT || undefined,
    siteId: process.env.TB_SITE || undefined,
    clientId: process.env.TB_CLIENT_ID || undefined,
    sharedSecret: process.env.TB_CLIENT_SECRET || undefined,
  };
}

function makeSdk(env) {
  const cacheHandler = {
    getAuthTicket: async () => apiAuthMemCache.getAuthTicket(env.clientId),
    setAuthTicket: async (ticket) => { await apiAuthMemCache.setAuthTicket(env.clientId, ticket); },
  };
  const auth = new APIAuthClient({ clientId: env.clientId, sharedSecret: env.sharedSecret, authHost: env.baseUrl },
    sdkFetch, cacheHandler);
  const configuration = (extra = {}) => new Configuration({
    tenantId: env.tenantId, siteId: env.siteId, apiHost: env.baseUrl, accessToken: () => auth.getAccessToken(), ...extra,
  });
  return {
    b2b: (token) => new B2BAccountApi(configuration(token ? { accessToken: token } : {})),
    tickets: () => new StorefrontAuthTicketApi(configuration()),
  };
}

// What Kibo's B2B storefront reads from a ticket JWT: the user claims and the behavior ids of `bv`.
function storefrontClaims(jwtAccessToken) {
  const payload = JSON.parse(Buffer.from(jwtAccessToken.split('.')[1], 'base64').toString('utf8'));
  const claims = payload[USER_CLAIMS] ?? null;
  const behaviors = [];
  const bv = claims?.bv;
  if (Array.isArray(bv)) {
    for (let i = 0; i + 1 < bv.length; i += 2) {
      for (let bit = 0; bit < 32; bit += 1) {
        if ((bv[i + 1] >>> bit) & 1) behaviors.push(bv[i] * 32 + bit);
      }
    }
  }
  return { claims, behaviors };
}

function withClaims(ticket) {
  return { ticket, ...(typeof ticket?.jwtAccessToken === 'string' ? storefrontClaims(ticket.jwtAccessToken) : {}) };
}

function accountIdArg(text) {
  if (text === undefined || text === '') return undefined;
  const n = Number(text);
  if (!Number.isInteger(n)) throw new UsageError(`ACCOUNT_ID must be an integer: ${text}`);
  return n;
}

const ADMIN_ROLE = 1;
const PURCHASER_ROLE = 2;

async function merchantScript(s, prefix) {
  if (!/^[a-z][a-z0-9]{0,19}$/.test(prefix)) throw new UsageError(`PREFIX must be 1-20 lowercase letters and digits: ${prefix}`);
  const st = new Steps();
  const B = s.b2b();
  const ids = {};
  const email = (name) => `${prefix}.${name}@example.com`;
  const user = (name, first, roleId) => ({
    b2BUser: { emailAddress: email(name), userName: email(name), firstName: first, lastName: 'Buyer', localeCode: 'en-US',
      isActive: true, roles: [{ roleId }] },
    isImport: false,
  });

  // the company, and a branch under it; both approved
  const company = await st.run('addCompany', () => B.addAccount({ b2BAccount: {
    id: 0, companyOrOrganization: `${prefix} Industries`, taxId: `${prefix}-TAX`, accountType: 'B2B',
    contacts: [{ email: email('office'), firstName: 'Front', lastNameOrSurname: 'Office', types: [{ name: 'Billing', isPrimary: true }],
      address: { address1: '1 Works Rd', cityOrTown: 'Leeds', postalOrZipCode: 'LS1 1AA', countryCode: 'GB' } }],
  } }));
  ids.company = company?.id;
  const branch = await st.run('addBranch', () => B.addAccount({ b2BAccount: {
    id: 0, companyOrOrganization: `${prefix} Industries North`, parentAccountId: ids.company, accountType: 'B2B',
  } }), ['addCompany']);
  ids.branch = branch?.id;
  await st.run('approveCompany', () => B.updateB2BAccountStatus({ accountId: ids.company, actionName: 'approve' }), ['addCompany']);
  await st.run('approveBranch', () => B.updateB2BAccountStatus({ accountId: ids.branch, actionName: 'approve' }), ['addBranch']);
  await st.run('getCompany', () => B.getB2BAccount({ accountId: ids.company }), ['approveCompany']);
  await st.run('getBranch', () => B.getB2BAccount({ accountId: ids.branch }), ['approveBranch']);

  // an admin and a purchaser in the company; the admin in the branch too
  const admin = await st.run('addAdmin', () => B.addUser({ accountId: ids.company, b2BUserAndAuthInfo: user('ada', 'Ada', ADMIN_ROLE) }), ['addCompany']);
  ids.admin = admin?.userId;
  const purchaser = await st.run('addPurchaser', () => B.addUser({ accountId: ids.company, b2BUserAndAuthInfo: user('pat', 'Pat', PURCHASER_ROLE) }), ['addCompany']);
  ids.purchaser = purchaser?.userId;
  await st.run('addAdminToBranch', () => B.addUser({ accountId: ids.branch, b2BUserAndAuthInfo: user('ada', 'Ada', ADMIN_ROLE) }), ['addBranch', 'addAdmin']);

  // read it all back
  await st.run('hierarchy', () => B.getB2BAccountHierarchy({ accountId: ids.company }), ['addBranch']);
  await st.run('accounts', () => B.getB2BAccounts({ filter: `companyOrOrganization sw '${prefix} '`, sortBy: 'id asc' }), ['addBranch']);
  await st.run('companyUsers', () => B.getUsersAsync({ accountId: ids.company, sortBy: 'firstName asc' }), ['addAdmin', 'addPurchaser']);
  await st.run('branchUsers', () => B.getUsersAsync({ accountId: ids.branch }), ['addAdminToBranch']);
  await st.run('adminRoles', () => B.getUserRolesAsync({ accountId: ids.company, userId: ids.admin }), ['addAdmin']);
  await st.run('purchaserRoles', () => B.getUserRolesAsync({ accountId: ids.company, userId: ids.purchaser }), ['addPurchaser']);
  await st.run('adminBehaviors', () => B.getUserBehaviors({ accountId: ids.company, userId: ids.admin }), ['addAdmin']);
  await st.run('purchaserBehaviors', () => B.getUserBehaviors({ accountId: ids.company, userId: ids.purchaser }), ['addPurchaser']);
  await st.run('accountsByUser', () => B.getAccountsByUser({ emailAddress: email('ada') }), ['addAdminToBranch']);
  return { steps: st.steps, ids };
}

const scenarios = {
  merchant: (s, args) => merchantScript(s, args[0] ?? ''),
  login: async (s, args) => {
    if (args.length < 2) throw new UsageError('usage: login EMAIL PASSWORD [ACCOUNT_ID]');
    const accountId = accountIdArg(args[2]);
    const customerUserAuthInfo = { username: args[0], password: args[1], ...(accountId === undefined ? {} : { accountId }) };
    return withClaims(await sdk(() => s.tickets().createUserAuthTicket({ customerUserAuthInfo })));
  },
  refresh: async (s, args) => {
    if (args.length < 1) throw new UsageError('usage: refresh REFRESH_TOKEN [ACCOUNT_ID]');
    const accountId = accountIdArg(args[1]);
    return withClaims(await sdk(() => s.tickets().refreshUserAuthTicket({ refreshToken: args[0], accountId })));
  },
  call: async (s, args) => {
    if (args.length < 1) throw new UsageError('usage: call METHOD [PARAMS_JSON] [TOKEN]');
    const api = s.b2b(args[2] || undefined);
    if (typeof api[args[0]] !== 'function' || args[0].endsWith('Raw')) throw new UsageError(`B2BAccountApi has no method ${args[0]}`);
    const value = await sdk(() => api[args[0]](jsonObject(args[1], 'PARAMS_JSON')));
    return value === undefined ? null : value;
  },
};

async function main() {
  const [name, ...args] = process.argv.slice(2);
  const out = { scenario: name ?? null };
  let code = 0;
  try {
    if (!name || !Object.hasOwn(scenarios, name)) {
      throw new UsageError(`usage: kibo_b2b.mjs SCENARIO [ARGS...]; scenarios: ${Object.keys(scenarios).join(', ')}`);
    }
    out.result = await scenarios[name](makeSdk(readEnv()), args);
    out.ok = true;
  } catch (error) {
    out.ok = false;
    if (error instanceof SdkFailure) {
      out.error = describeError(error.error);
    } else if (error instanceof UsageError) {
      out.error = { kind: 'UsageError', message: error.message, status: null, errorCode: null };
      code = 2;
    } else {
      process.stderr.write(`kibo_b2b.mjs: driver bug: ${error?.stack || error}\n`);
      out.error = { kind: 'DriverBug', message: String(error?.message || error), status: null, errorCode: null };
      code = 1;
    }
  }
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(code));
}

main();
