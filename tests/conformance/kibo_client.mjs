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
//   call API METHOD [PARAMS_JSON] [TOKEN]  any one method of the customer APIs below with PARAMS_JSON as its
//                     request parameters, as the application, or as the shopper whose ticket jwtAccessToken is
//                     TOKEN (Authorization: Bearer TOKEN). API is one of CustomerAccountApi, CustomerSegmentApi,
//                     CustomerSetApi, CustomerAttributeDefinitionApi, CustomerAccountAttributeDefinitionsApi,
//                     StorefrontAuthTicketApi. A void method's result is null.
//   merchant PREFIX PASSWORD NEW_PASSWORD  a whole merchant script (run it with an application that has the
//                     customer:admin behavior): accounts, bulk add, search, contacts, notes, attributes,
//                     segments, customer sets, login state, lock, password change required, bulk password
//                     change, delete. PREFIX (lowercase letters and digits) keeps its names apart.
//   shopper PREFIX PASSWORD NEW_PASSWORD   a shopper registers, then with the ticket: own account, profile,
//                     contact, login state, password change; and is refused another shopper's account.
//   reset-password EMAIL [CUSTOMER_SET_CODE]            CustomerAccountApi.resetPassword
//   update-forgotten-password USER CODE NEW_PASSWORD    CustomerAccountApi.updateForgottenPassword
//   2fa-request PENDING AUTH               StorefrontAuthTicketApi.generateAndSend2faOtp, PENDING being the
//                     accessToken of a ticket with requires2FA; AUTH says how the SDK carries it:
//       bearer        the SDK's `accessToken` option (Authorization: Bearer PENDING, no app credential)
//       claims        the `userClaims` + `appClaims` options (x-vol-user-claims: PENDING, x-vol-app-claims:
//                     <app access_token>)
//       bearer+claims Authorization: Bearer <app access_token> plus x-vol-user-claims: PENDING (initOverrides)
//       app           the application's credential alone; PENDING is not sent at all (give any word)
//   2fa-auth PENDING USER_ID CODE AUTH     StorefrontAuthTicketApi.validate2FAAndCreateAuthTicket, AUTH as for
//                     2fa-request, or `body`: the app's Bearer token and PENDING as `accessToken` in the
//                     AuthTicket2FAInfo body (a key the SDK's model does not have; the SDK sends it unchanged)
//   otp-request EMAIL                      StorefrontAuthTicketApi.generateAndSendOtp
//   otp-auth EMAIL CODE [FINGERPRINT] [REGION]           StorefrontAuthTicketApi.validateOtpAndCreateAuthTicket
//   impersonate ACCOUNT_ID [USER_ID] [CART_ID]           StorefrontAuthTicketApi.impersonateCart
//
// Multi-step scenarios (merchant, shopper) always finish; their result is {"steps": {NAME: STEP}} with
// STEP {"ok": true, "result": ...} or {"ok": false, "error": {...}} (kind "Skipped" when a step it
// needs failed), in the order run, so one server-side gap does not hide the others.
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
import { SdkFailure, Steps, UsageError, describeError, jsonObject, sdk } from './driver_support.mjs';

const require = createRequire(import.meta.url);
const { Configuration } = require('@kibocommerce/rest-sdk');
const Customer = require('@kibocommerce/rest-sdk/clients/Customer');
const {
  StorefrontAuthTicketApi, CustomerAccountApi, CustomerSegmentApi, CustomerSetApi, CustomerAttributeDefinitionApi,
  CustomerAccountAttributeDefinitionsApi,
} = Customer;
const CALLABLE_APIS = ['CustomerAccountApi', 'CustomerSegmentApi', 'CustomerSetApi', 'CustomerAttributeDefinitionApi',
  'CustomerAccountAttributeDefinitionsApi', 'StorefrontAuthTicketApi'];
const { apiAuthMemCache } = require('@kibocommerce/rest-sdk/utilities');
const { APIAuthClient } = require('@kibocommerce/sdk-authentication');
// The very fetch implementation rest-sdk uses by default (isomorphic-fetch -> node-fetch 2).
const sdkFetch = createRequire(require.resolve('@kibocommerce/rest-sdk'))('isomorphic-fetch');


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
    segments: (cfg = appConfiguration()) => new CustomerSegmentApi(cfg),
    customerSets: (cfg = appConfiguration()) => new CustomerSetApi(cfg),
    attributeDefinitions: (cfg = appConfiguration()) => new CustomerAttributeDefinitionApi(cfg),
    accountAttributeDefinitions: (cfg = appConfiguration()) => new CustomerAccountAttributeDefinitionsApi(cfg),
    // the configuration of a shopper: the ticket's JWT is the only credential
    shopper: (jwtAccessToken) => appConfiguration({ accessToken: jwtAccessToken }),
  };
}

// ---------------------------------------------------------------- results

// ---------------------------------------------------------------- scenarios

function need(args, n, usage) {
  if (args.length < n) throw new UsageError(`usage: ${usage}`);
  return args;
}

function extraJson(text) {
  return jsonObject(text, 'EXTRA_JSON');
}

function prefixArg(prefix) {
  if (!/^[a-z][a-z0-9]{0,19}$/.test(prefix)) throw new UsageError(`PREFIX must be 1-20 lowercase letters and digits: ${prefix}`);
  return prefix;
}

// The id of the account with this email in any of the given SDK results (collections or arrays).
function idByEmail(email, ...results) {
  for (const result of results) {
    const items = Array.isArray(result) ? result : result?.items;
    const found = (items || []).find((a) => typeof a?.emailAddress === 'string' && a.emailAddress.toLowerCase() === email);
    if (found && Number.isInteger(found.id)) return found.id;
  }
  return undefined;
}

async function merchantScript(s, prefix, password, newPassword) {
  const st = new Steps();
  const A = s.accounts();
  const T = s.tickets();
  const Seg = s.segments();
  const ids = {};
  const email = (name) => `${prefix}.${name}@example.com`;
  const [ann, bob, cid] = [email('ann'), email('bob'), email('cid')];
  const within = `emailAddress sw '${prefix}.'`;

  // accounts: add one, add two in bulk (with logins), find them
  const annAccount = await st.run('addAccount', () => A.addAccount({ customerAccount: {
    emailAddress: ann, userName: ann, firstName: 'Ann', lastName: 'Merchant', externalId: `${prefix}-ext-1`,
    acceptsMarketing: true, companyOrOrganization: 'Acme' } }));
  ids.ann = annAccount?.id;
  const bulk = await st.run('addAccounts', () => A.addAccounts({ customerAccountAndAuthInfo: [
    { account: { emailAddress: bob, userName: bob, firstName: 'Bob', lastName: 'Bulk', acceptsMarketing: false }, password, isImport: false },
    { account: { emailAddress: cid, userName: cid, firstName: 'Cid', lastName: 'Bulk', acceptsMarketing: true }, password, isImport: false },
  ] }));
  await st.run('filterEq', () => A.getAccounts({ filter: `emailAddress eq '${bob}'` }));
  const bulkFound = await st.run('filterSwAnd', () => A.getAccounts({ filter: `${within} and lastName eq 'Bulk'`, sortBy: 'firstName asc' }));
  await st.run('filterOrParens', () => A.getAccounts({
    filter: `${within} and (firstName eq 'Ann' or firstName eq 'Cid')`, sortBy: 'firstName desc' }));
  ids.bob = idByEmail(bob, bulk, bulkFound);
  ids.cid = idByEmail(cid, bulk, bulkFound);
  await st.run('search', () => A.getAccounts({ q: prefix, pageSize: 50 }));
  await st.run('page1', () => A.getAccounts({ q: prefix, startIndex: 0, pageSize: 2, sortBy: 'firstName asc' }));
  await st.run('page2', () => A.getAccounts({ q: prefix, startIndex: 2, pageSize: 2, sortBy: 'firstName asc' }));
  await st.run('responseFields', () => A.getAccounts({ filter: `emailAddress eq '${ann}'`, responseFields: 'totalCount,items(id,emailAddress)' }));

  // one account: read, update with the whole object sent back (as Kibo clients do)
  const got = await st.run('getAccount', () => A.getAccount({ accountId: ids.ann }), ['addAccount']);
  await st.run('updateAccount', () => A.updateAccount({ accountId: ids.ann,
    customerAccount: { ...got, firstName: 'Anna', taxExempt: true, taxId: 'TX-1' } }), ['getAccount']);
  await st.run('getAccountAfterUpdate', () => A.getAccount({ accountId: ids.ann }), ['updateAccount']);

  // contacts
  const address = { address1: '1 Main St', cityOrTown: 'Austin', stateOrProvince: 'TX', postalOrZipCode: '78701',
    countryCode: 'US', addressType: 'Residential' };
  const billing = await st.run('addContact', () => A.addAccountContact({ accountId: ids.ann, customerContact: {
    email: ann, firstName: 'Ann', lastNameOrSurname: 'Merchant', address, phoneNumbers: { home: '5125550100' },
    types: [{ name: 'Billing', isPrimary: true }] } }), ['addAccount']);
  const shipping = await st.run('addContact2', () => A.addAccountContact({ accountId: ids.ann, customerContact: {
    email: ann, firstName: 'Ann', lastNameOrSurname: 'Merchant', address: { ...address, address1: '9 Dock Rd' },
    types: [{ name: 'Shipping', isPrimary: true }] } }), ['addAccount']);
  await st.run('listContacts', () => A.getAccountContacts({ accountId: ids.ann }), ['addContact', 'addContact2']);
  await st.run('updateContact', () => A.updateAccountContact({ accountId: ids.ann, contactId: billing.id,
    customerContact: { ...billing, address: { ...address, cityOrTown: 'Dallas', postalOrZipCode: '75201' } } }), ['addContact']);
  await st.run('getContact', () => A.getAccountContact({ accountId: ids.ann, contactId: billing?.id }), ['updateContact']);
  await st.run('deleteContact', () => A.deleteAccountContact({ accountId: ids.ann, contactId: shipping.id }), ['addContact2']);
  await st.run('listContactsAfterDelete', () => A.getAccountContacts({ accountId: ids.ann }), ['deleteContact']);
  await st.run('addContactList', () => A.addAccountContactList({ accountId: ids.ann, customerContact: [
    { email: ann, firstName: 'Ann', lastNameOrSurname: 'Office', address: { ...address, address1: '5 Office Park' },
      types: [{ name: 'Billing', isPrimary: true }] },
    { email: ann, firstName: 'Ann', lastNameOrSurname: 'Cabin', address: { ...address, address1: '7 Lake Rd' } },
  ] }), ['addAccount']);
  await st.run('getContactAfterList', () => A.getAccountContact({ accountId: ids.ann, contactId: billing.id }), ['addContactList', 'addContact']);
  await st.run('listContactsAfterList', () => A.getAccountContacts({ accountId: ids.ann, sortBy: 'id asc' }), ['addContactList']);

  // notes
  await st.run('addNote', () => A.addAccountNote({ accountId: ids.ann, customerNote: { content: 'Prefers phone calls' } }), ['addAccount']);
  const note = await st.run('addNote2', () => A.addAccountNote({ accountId: ids.ann, customerNote: { content: 'Asked for a catalog' } }), ['addAccount']);
  await st.run('listNotes', () => A.getAccountNotes({ accountId: ids.ann, sortBy: 'id asc' }), ['addNote', 'addNote2']);
  await st.run('updateNote', () => A.updateAccountNote({ accountId: ids.ann, noteId: note.id,
    customerNote: { ...note, content: 'Asked for the spring catalog' } }), ['addNote2']);
  await st.run('getNote', () => A.getAccountNote({ accountId: ids.ann, noteId: note?.id }), ['updateNote']);
  await st.run('deleteNote', () => A.deleteAccountNote({ accountId: ids.ann, noteId: note.id }), ['addNote2']);
  await st.run('getDeletedNote', () => A.getAccountNote({ accountId: ids.ann, noteId: note.id }), ['deleteNote']);

  // an attribute definition and a value on the account
  const code = `${prefix}Tier`; // mixed case: the server lower-cases paths, FQNs must still match
  const fqn = `tenant~${code}`;
  const vocabulary = (value, sequence, label) => ({ value, sequence, content: { localeCode: 'en-US', value: label } });
  await st.run('createAttribute', () => s.attributeDefinitions().createAttribute({ customerAttribute2: {
    attributeCode: code, namespace: 'tenant', adminName: 'Tier', dataType: 'String', inputType: 'List',
    valueType: 'Predefined', displayGroup: 'General', isActive: true, isRequired: false, isMultiValued: false,
    vocabularyValues: [vocabulary('gold', 1, 'Gold'), vocabulary('silver', 2, 'Silver')] } }));
  await st.run('getAttribute', () => s.attributeDefinitions().getAttribute({ attributeFQN: fqn }), ['createAttribute']);
  await st.run('getAttributeVocabularyValues', () => s.attributeDefinitions().getAttributeVocabularyValues({ attributeFQN: fqn }), ['createAttribute']);
  await st.run('getAttributesAccountApi', () => s.accountAttributeDefinitions().getAttributes({ pageSize: 200 }), ['createAttribute']);
  await st.run('addAccountAttribute', () => A.addAccountAttribute({ accountId: ids.ann,
    customerAttribute: { fullyQualifiedName: fqn, values: ['gold'] } }), ['addAccount', 'createAttribute']);
  await st.run('updateAccountAttribute', () => A.updateAccountAttribute({ accountId: ids.ann, attributeFQN: fqn,
    customerAttribute: { fullyQualifiedName: fqn, values: ['silver'] } }), ['addAccountAttribute']);
  await st.run('addAccountAttributeNotInVocabulary', () => A.updateAccountAttribute({ accountId: ids.ann, attributeFQN: fqn,
    customerAttribute: { fullyQualifiedName: fqn, values: ['platinum'] } }), ['addAccountAttribute']);
  await st.run('listAccountAttributes', () => A.getAccountAttributes({ accountId: ids.ann }), ['addAccountAttribute']);
  await st.run('getAccountAttribute', () => A.getAccountAttribute({ accountId: ids.ann, attributeFQN: fqn }), ['addAccountAttribute']);
  await st.run('updateAttribute', () => s.accountAttributeDefinitions().updateAttribute({ attributeFQN: fqn, customerAttribute2: {
    attributeCode: code, namespace: 'tenant', adminName: 'Tier level', dataType: 'String', inputType: 'List',
    valueType: 'Predefined', displayGroup: 'General', isActive: true, isRequired: false, isMultiValued: false,
    vocabularyValues: [vocabulary('gold', 1, 'Gold'), vocabulary('silver', 2, 'Silver'), vocabulary('bronze', 3, 'Bronze')] } }),
  ['createAttribute']);
  await st.run('getAttributes', () => s.attributeDefinitions().getAttributes({ pageSize: 200 }), ['updateAttribute']);
  await st.run('setBronze', () => A.updateAccountAttribute({ accountId: ids.ann, attributeFQN: fqn,
    customerAttribute: { fullyQualifiedName: fqn, values: ['bronze'] } }), ['updateAttribute', 'addAccountAttribute']);
  await st.run('deleteAccountAttribute', () => A.deleteAccountAttribute({ accountId: ids.ann, attributeFQN: fqn }), ['addAccountAttribute']);
  await st.run('getDeletedAccountAttribute', () => A.getAccountAttribute({ accountId: ids.ann, attributeFQN: fqn }), ['deleteAccountAttribute']);

  // a segment with two accounts, then one removed
  const segment = await st.run('addSegment', () => Seg.addSegment({ customerCustomerSegment: {
    code: `${prefix}-vip`, name: 'VIP customers', description: 'Spends a lot' } }));
  await st.run('addSegmentAccounts', () => Seg.addSegmentAccounts({ id: segment.id, requestBody: [ids.ann, ids.bob] }),
    ['addSegment', 'addAccount', 'addAccounts']);
  await st.run('getAccountSegments', () => A.getAccountSegments({ accountId: ids.ann }), ['addSegmentAccounts']);
  await st.run('removeSegmentAccount', () => Seg.removeSegmentAccount({ id: segment.id, accountId: ids.bob }), ['addSegmentAccounts']);
  await st.run('getAccountSegmentsAfterRemove', () => A.getAccountSegments({ accountId: ids.bob }), ['removeSegmentAccount']);
  await st.run('getSegment', () => Seg.getSegment({ id: segment.id }), ['addSegment']);
  await st.run('updateSegment', () => Seg.updateSegment({ id: segment.id, customerCustomerSegment: {
    ...segment, name: 'Very important customers' } }), ['addSegment']);
  await st.run('getSegments', () => Seg.getSegments({ pageSize: 200 }), ['updateSegment']);
  await st.run('deleteSegment', () => Seg.deleteSegment({ id: segment.id }), ['addSegment']);
  await st.run('getDeletedSegment', () => Seg.getSegment({ id: segment.id }), ['deleteSegment']);
  await st.run('getAccountSegmentsAfterSegmentDelete', () => A.getAccountSegments({ accountId: ids.ann }), ['deleteSegment']);

  // customer sets
  await st.run('getCustomerSets', () => s.customerSets().getCustomerSets({}));
  await st.run('getCustomerSet', () => s.customerSets().getCustomerSet({ code: 'outlet' }));

  // login management: lock and unlock Bob, make Cid change his password, change it in bulk
  const login = (user, secret) => T.createUserAuthTicket({ customerUserAuthInfo: { username: user, password: secret } });
  const haveBob = () => (ids.bob ? [] : ['addAccounts']);
  const haveCid = () => (ids.cid ? [] : ['addAccounts']);
  await st.run('loginBob', () => login(bob, password), haveBob());
  await st.run('lockBob', () => A.setLoginLocked({ accountId: ids.bob, body: true }), haveBob());
  await st.run('loginStateLocked', () => A.getLoginState({ accountId: ids.bob }), ['lockBob']);
  await st.run('loginBobLocked', () => login(bob, password), ['lockBob']);
  await st.run('loginStateByEmailAddress', () => A.getLoginStateByEmailAddress({ emailAddress: bob }), ['lockBob']);
  await st.run('unlockBob', () => A.setLoginLocked({ accountId: ids.bob, body: false }), ['lockBob']);
  await st.run('loginStateUnlocked', () => A.getLoginState({ accountId: ids.bob }), ['unlockBob']);
  await st.run('loginBobUnlocked', () => login(bob, password), ['unlockBob']);

  await st.run('requirePasswordChangeCid', () => A.setPasswordChangeRequired({ accountId: ids.cid, body: true }), haveCid());
  await st.run('loginStateByUserName', () => A.getLoginStateByUserName({ userName: cid }), ['requirePasswordChangeCid']);
  await st.run('loginCidRefused', () => login(cid, password), ['requirePasswordChangeCid']);
  await st.run('changePasswords', () => A.changePasswords({ accountPasswordInfoCollection: { totalCount: 2, items: [
    { accountId: ids.cid, unlockAccount: false, passwordInfo: { newPassword } },
    { accountId: 2147483000, unlockAccount: false, passwordInfo: { newPassword } },
  ] } }), haveCid());
  await st.run('loginCidNewPassword', () => login(cid, newPassword), ['changePasswords']);
  await st.run('loginCidOldPassword', () => login(cid, password), ['changePasswords']);
  await st.run('loginStateCidAfterChange', () => A.getLoginState({ accountId: ids.cid }), ['changePasswords']);

  // delete Ann
  await st.run('deleteAccount', () => A.deleteAccount({ accountId: ids.ann }), ['addAccount']);
  await st.run('getDeletedAccount', () => A.getAccount({ accountId: ids.ann }), ['deleteAccount']);
  await st.run('deleteDeletedAccount', () => A.deleteAccount({ accountId: ids.ann }), ['deleteAccount']);
  await st.run('searchAfterDelete', () => A.getAccounts({ q: prefix }), ['deleteAccount']);

  return { ids, steps: st.steps };
}

async function shopperScript(s, prefix, password, newPassword) {
  const st = new Steps();
  const App = s.accounts();
  const T = s.tickets();
  const [sam, olga] = [`${prefix}.sam@example.com`, `${prefix}.olga@example.com`];
  const register = (mail, firstName) => App.addAccountAndLogin({ customerAccountAndAuthInfo: {
    account: { emailAddress: mail, userName: mail, firstName, lastName: 'Shopper' }, password, isImport: false } });
  const ticket = await st.run('register', () => register(sam, 'Sam'));
  const other = await st.run('registerOther', () => register(olga, 'Olga'));
  const me = ticket?.customerAccount?.id;
  const otherId = other?.customerAccount?.id;
  const S = ticket ? s.accounts(s.shopper(ticket.jwtAccessToken)) : null;

  const own = await st.run('getOwnAccount', () => S.getAccount({ accountId: me }), ['register']);
  await st.run('updateOwnAccount', () => S.updateAccount({ accountId: me,
    customerAccount: { ...own, firstName: 'Samuel', acceptsMarketing: true } }), ['getOwnAccount']);
  await st.run('addOwnContact', () => S.addAccountContact({ accountId: me, customerContact: {
    email: sam, firstName: 'Samuel', lastNameOrSurname: 'Shopper', address: { address1: '2 High St',
      cityOrTown: 'Boston', stateOrProvince: 'MA', postalOrZipCode: '02108', countryCode: 'US', addressType: 'Residential' },
    types: [{ name: 'Shipping', isPrimary: true }] } }), ['register']);
  await st.run('listOwnContacts', () => S.getAccountContacts({ accountId: me }), ['addOwnContact']);
  await st.run('getOwnLoginState', () => S.getLoginState({ accountId: me }), ['register']);
  await st.run('getOwnSegments', () => S.getAccountSegments({ accountId: me }), ['register']);
  await st.run('changeOwnPassword', () => S.changePassword({ accountId: me,
    customerPasswordInfo: { oldPassword: password, newPassword } }), ['register']);
  await st.run('getOwnAccountAfterChange', () => S.getAccount({ accountId: me, responseFields: 'id,firstName' }), ['changeOwnPassword']);
  const login = (secret) => T.createUserAuthTicket({ customerUserAuthInfo: { username: sam, password: secret } });
  await st.run('loginNewPassword', () => login(newPassword), ['changeOwnPassword']);
  await st.run('loginOldPassword', () => login(password), ['changeOwnPassword']);

  // what the shopper may not do
  const needs = ['register', 'registerOther'];
  await st.run('getOtherAccount', () => S.getAccount({ accountId: otherId }), needs);
  await st.run('updateOtherAccount', () => S.updateAccount({ accountId: otherId, customerAccount: { id: otherId, firstName: 'Evil' } }), needs);
  await st.run('addOtherContact', () => S.addAccountContact({ accountId: otherId, customerContact: { email: sam, firstName: 'Evil' } }), needs);
  await st.run('getOtherLoginState', () => S.getLoginState({ accountId: otherId }), needs);
  await st.run('changeOtherPassword', () => S.changePassword({ accountId: otherId,
    customerPasswordInfo: { oldPassword: password, newPassword } }), needs);
  await st.run('listAccounts', () => S.getAccounts({}), ['register']);
  await st.run('addOwnNote', () => S.addAccountNote({ accountId: me, customerNote: { content: 'I am great' } }), ['register']);
  await st.run('lockOwnLogin', () => S.setLoginLocked({ accountId: me, body: false }), ['register']);
  await st.run('deleteOwnAccount', () => S.deleteAccount({ accountId: me }), ['register']);
  // the storefront application itself, with no shopper, is no admin either
  await st.run('appGetsAccount', () => App.getAccount({ accountId: otherId }), ['registerOther']);
  await st.run('otherStillReadable', () => s.accounts(s.shopper(other.jwtAccessToken)).getAccount({
    accountId: otherId, responseFields: 'id,firstName' }), ['registerOther']);
  return { ids: { me, other: otherId }, steps: st.steps };
}

// How a storefront hands rest-sdk the accessToken of a ticket waiting for its second factor: the
// StorefrontAuthTicketApi to call, and what to add to the request (initOverrides, body keys).
async function pendingTicketApi(s, pending, auth, { body = false } = {}) {
  if (auth === 'bearer') return { api: s.tickets(s.appConfiguration({ accessToken: pending })) };
  if (auth === 'claims') {
    const appToken = await sdk(() => s.appAuthClient().getAccessToken());
    return { api: s.tickets(s.claimsConfiguration(pending, appToken)) };
  }
  if (auth === 'bearer+claims') {
    return { api: s.tickets(), init: async ({ init }) => ({ headers: { ...init.headers, 'x-vol-user-claims': pending } }) };
  }
  if (auth === 'body' && body) return { api: s.tickets(), extra: { accessToken: pending } };
  if (auth === 'app') return { api: s.tickets() };
  throw new UsageError(`unknown AUTH ${auth}: use bearer, claims, bearer+claims, app${body ? ' or body' : ''}`);
}

const protectionScenarios = {
  async '2fa-request'(s, args) {
    const [pending, auth] = need(args, 2, '2fa-request PENDING AUTH');
    const { api, init } = await pendingTicketApi(s, pending, auth);
    const value = await sdk(() => api.generateAndSend2faOtp({}, init));
    return value === undefined ? null : value;
  },

  async '2fa-auth'(s, args) {
    const [pending, userId, otpCode, auth] = need(args, 4, '2fa-auth PENDING USER_ID CODE AUTH');
    const { api, init, extra = {} } = await pendingTicketApi(s, pending, auth, { body: true });
    return sdk(() => api.validate2FAAndCreateAuthTicket({ authTicket2FAInfo: { userId, otpCode, ...extra } }, init));
  },

  async 'otp-request'(s, args) {
    const [email] = need(args, 1, 'otp-request EMAIL');
    const value = await sdk(() => s.tickets().generateAndSendOtp({ otpRequest: { email } }));
    return value === undefined ? null : value;
  },

  async 'otp-auth'(s, args) {
    const [email, otpCode, fingerprint, region] = need(args, 2, 'otp-auth EMAIL CODE [FINGERPRINT] [REGION]');
    const authTicketOtpInfo = { email, otpCode };
    if (fingerprint !== undefined) authTicketOtpInfo.fingerprint = fingerprint;
    if (region !== undefined) authTicketOtpInfo.region = region;
    return sdk(() => s.tickets().validateOtpAndCreateAuthTicket({ authTicketOtpInfo }));
  },

  async impersonate(s, args) {
    const [accountId, userId, cartId] = need(args, 1, 'impersonate ACCOUNT_ID [USER_ID] [CART_ID]');
    if (!/^\d+$/.test(accountId)) throw new UsageError(`ACCOUNT_ID must be a number: ${accountId}`);
    const cartAuthTicketRequest = { accountId: Number(accountId) };
    if (userId) cartAuthTicketRequest.userId = userId;
    if (cartId) cartAuthTicketRequest.cartId = cartId;
    return sdk(() => s.tickets().impersonateCart({ cartAuthTicketRequest }));
  },
};

const scenarios = {
  ...protectionScenarios,

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

  async call(s, args) {
    const [api, method, params, token] = need(args, 2, 'call API METHOD [PARAMS_JSON] [TOKEN]');
    if (!CALLABLE_APIS.includes(api)) throw new UsageError(`API must be one of ${CALLABLE_APIS.join(', ')}`);
    const Api = Customer[api];
    if (method.endsWith('Raw') || method === 'constructor' || typeof Api.prototype[method] !== 'function'
        || !Object.hasOwn(Api.prototype, method)) {
      throw new UsageError(`${api} has no method ${method}`);
    }
    const client = new Api(token ? s.shopper(token) : s.appConfiguration());
    const value = await sdk(() => client[method](jsonObject(params, 'PARAMS_JSON')));
    return value === undefined ? null : value;
  },

  async merchant(s, args) {
    const [prefix, password, newPassword] = need(args, 3, 'merchant PREFIX PASSWORD NEW_PASSWORD');
    return merchantScript(s, prefixArg(prefix), password, newPassword);
  },

  async shopper(s, args) {
    const [prefix, password, newPassword] = need(args, 3, 'shopper PREFIX PASSWORD NEW_PASSWORD');
    return shopperScript(s, prefixArg(prefix), password, newPassword);
  },

  async 'reset-password'(s, args) {
    const [email, customerSetCode] = need(args, 1, 'reset-password EMAIL [CUSTOMER_SET_CODE]');
    const customerResetPasswordInfo = { emailAddress: email };
    if (customerSetCode !== undefined) customerResetPasswordInfo.customerSetCode = customerSetCode;
    const value = await sdk(() => s.accounts().resetPassword({ customerResetPasswordInfo }));
    return value === undefined ? null : value;
  },

  async 'update-forgotten-password'(s, args) {
    const [userName, confirmationCode, newPassword] = need(args, 3, 'update-forgotten-password USER CODE NEW_PASSWORD');
    const value = await sdk(() => s.accounts().updateForgottenPassword({ confirmationInfo: { userName, confirmationCode, newPassword } }));
    return value === undefined ? null : value;
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
