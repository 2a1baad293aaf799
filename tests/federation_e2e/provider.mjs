// A real OpenID Connect provider for the federation tests: the certified npm package oidc-provider (pinned in
// tests/conformance/package.json), on 127.0.0.1 at a free port, with clients the test names and accounts the
// test makes up at sign-in. No browser is needed: the login form is plain HTML posted with plain HTTP.
//
//   node provider.mjs --clients '[{"client_id": "...", "client_secret": "...", "redirect_uri": "..."}]'
//                     [--id-token-ttl SECONDS] [--timeout SECONDS]
//   (or the clients in TB_OIDC_CLIENTS)
//
// The first line on stdout is the issuer URL (http://127.0.0.1:PORT); nothing else is written there. The
// process exits when its stdin closes (the test process that started it is gone) or after --timeout.
//
// Every client is a confidential web client (client_secret_basic or client_secret_post), response type
// `code` only, and must send PKCE S256 (plain is refused). Its ID tokens are signed RS256 with a key made at
// start (or, when the client says "id_token_signed_response_alg": "HS256", with its client secret: the
// algorithm a relying party must refuse), and carry the email claims of the `email` scope (as Google's and
// Entra's do).
//
// Sign-in: the authorization endpoint sends the browser to GET /interaction/{uid}, a form whose POST
// (application/x-www-form-urlencoded) to the same path signs in and consents at once. Its fields:
//   sub             the subject (the account is created or replaced with the fields below)
//   email           the account's email (omitted: no email claim)
//   email_verified  "true" or "false" (omitted: false)
//   name            optional
//   amr             optional, space separated (e.g. "pwd mfa"): the authentication methods asserted
//   expired_by      optional seconds: the ID tokens issued for this account have already expired by this
//                   much when issued (the provider's clock reads that far back during the token request)
// A POST with `error=access_denied` instead ends the interaction with that error (the user said no).

import { randomBytes, generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';

const { default: Provider } = await import(
  new URL('../conformance/node_modules/oidc-provider/lib/index.js', import.meta.url).href);

const { values: options } = parseArgs({
  options: {
    clients: { type: 'string', default: process.env.TB_OIDC_CLIENTS ?? '' },
    'id-token-ttl': { type: 'string', default: '300' },
    timeout: { type: 'string', default: '900' },
  },
});

function usage(message) {
  process.stderr.write(`provider.mjs: ${message}\n`);
  process.exit(2);
}

let clients;
try {
  clients = JSON.parse(options.clients || 'null');
} catch {
  usage('--clients is not JSON');
}
if (!Array.isArray(clients) || clients.length === 0) {
  usage('--clients (or TB_OIDC_CLIENTS) must be a non-empty JSON list of {client_id, client_secret, redirect_uri}');
}
const idTokenTtl = Number(options['id-token-ttl']);
const timeout = Number(options.timeout);
if (!Number.isInteger(idTokenTtl) || idTokenTtl < 1) usage('--id-token-ttl must be a positive integer');
if (!(timeout > 0)) usage('--timeout must be a positive number of seconds');

// The clock of the provider. A token request for an account with `expired_by` reads it that far back
// (plus the ID token's lifetime), so the ID token it issues is expired by `expired_by` seconds on arrival.
// oidc-provider keeps the request's context in an AsyncLocalStorage (Provider.ctx); the shift is a property of
// that one request's context, never of another request.
const SHIFT = Symbol('clock shift in milliseconds');
const realNow = Date.now.bind(Date);
Date.now = () => realNow() + (Provider.ctx?.[SHIFT] ?? 0);

const accounts = new Map();

function account(sub) {
  const known = accounts.get(sub);
  if (!known) return undefined;
  return {
    accountId: sub,
    async claims() {
      return {
        sub,
        ...(known.email === undefined ? {} : { email: known.email, email_verified: known.emailVerified }),
        ...(known.name === undefined ? {} : { name: known.name }),
      };
    },
  };
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

const server = http.createServer();
await new Promise((resolve) => { server.listen(0, '127.0.0.1', resolve); });
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: clients.map((c) => ({
    client_id: String(c.client_id),
    client_secret: String(c.client_secret),
    redirect_uris: [String(c.redirect_uri)],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: c.token_endpoint_auth_method ?? 'client_secret_basic',
    id_token_signed_response_alg: c.id_token_signed_response_alg ?? 'RS256',
  })),
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  claims: {
    openid: ['sub', 'amr'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  conformIdTokenClaims: false,
  enabledJWA: { idTokenSigningAlgValues: ['RS256', 'HS256'] },
  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: true },
  },
  pkce: { required: () => true },
  ttl: {
    IdToken: idTokenTtl,
    AccessToken: 600,
    AuthorizationCode: 60,
    Interaction: 600,
    Session: 600,
    Grant: 600,
  },
  async findAccount(ctx, sub) {
    const found = account(sub);
    const expiredBy = accounts.get(sub)?.expiredBy;
    if (found && expiredBy && ctx?.oidc?.route === 'token') {
      ctx[SHIFT] = -(expiredBy + idTokenTtl) * 1000;
    }
    return found;
  },
  renderError(ctx, out) {
    ctx.type = 'text/plain';
    ctx.body = `${out.error}: ${out.error_description ?? ''}\n`;
  },
});
provider.on('server_error', (_ctx, error) => { process.stderr.write(`provider server_error: ${error.stack}\n`); });

function escape(text) {
  return String(text).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

async function formBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function finish(ctx, result) {
  const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.redirect(returnTo);
  ctx.status = 303;
}

// The interaction pages (login and consent in one form), in front of the provider's own routes.
provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([A-Za-z0-9_-]+)$/.exec(ctx.path);
  if (!match) return next();
  ctx.set('Cache-Control', 'no-store');
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.uid !== match[1]) ctx.throw(400, 'interaction mismatch');
  const { prompt, params } = details;
  if (ctx.method === 'GET') {
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>Sign in</title><h1>Sign in to ${escape(params.client_id)}</h1>
<p>prompt: ${escape(prompt.name)}; scope: ${escape(params.scope)}</p>
<form method="post" action="/interaction/${escape(details.uid)}">
<input name="sub"> <input name="email"> <select name="email_verified"><option>true</option><option>false</option></select>
<input name="name"> <input name="amr"> <input name="expired_by"><button>Sign in and allow</button></form>`;
    return undefined;
  }
  if (ctx.method !== 'POST') ctx.throw(405);
  const form = await formBody(ctx.req);
  if (form.get('error')) {
    return finish(ctx, {
      error: form.get('error'), error_description: form.get('error_description') ?? 'the user said no',
    });
  }
  let accountId = details.session?.accountId;
  const result = {};
  if (prompt.name === 'login') {
    const sub = form.get('sub');
    if (!sub) ctx.throw(400, 'sub is required');
    const expiredBy = Number(form.get('expired_by') || 0);
    accounts.set(sub, {
      email: form.get('email') || undefined,
      emailVerified: form.get('email_verified') === 'true',
      name: form.get('name') || undefined,
      expiredBy: Number.isFinite(expiredBy) && expiredBy > 0 ? expiredBy : 0,
    });
    const amr = (form.get('amr') || '').split(' ').filter(Boolean);
    result.login = { accountId: sub, remember: false, ...(amr.length ? { amr } : {}) };
    accountId = sub;
  }
  const grant = new provider.Grant({ accountId, clientId: params.client_id });
  grant.addOIDCScope(String(params.scope));
  if (params.claims) {
    const requested = JSON.parse(params.claims);
    for (const where of ['id_token', 'userinfo']) {
      if (requested[where]) grant.addOIDCClaims(Object.keys(requested[where]));
    }
  }
  result.consent = { grantId: await grant.save() };
  return finish(ctx, result);
});

server.on('request', provider.callback());

process.stdout.write(`${issuer}\n`);

function stop() {
  server.close();
  server.closeAllConnections();
  process.exit(0);
}
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.on('error', stop);
process.stdin.resume();
setTimeout(stop, timeout * 1000).unref();
process.on('SIGTERM', stop);
