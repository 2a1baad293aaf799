// The test storefront's page: plain WebAuthn Level 3 calls, no framework. It talks only to its own
// server (/storefront/...), which adds the app credential and the shopper's ticket on the way to
// Ticketbooth: no token or secret ever reaches this page.
//
// Every action ends by appending an outcome to window.outcomes ({action, ok, ...}) and counting it in
// <body data-outcomes>, so a test can click a button and wait for the action's end.
"use strict";

window.outcomes = [];
let autofill = null; // the AbortController of a pending conditional (autofill) request

function finish(outcome) {
  window.outcomes.push(outcome);
  document.body.dataset.outcomes = String(window.outcomes.length);
  const log = document.getElementById("log");
  log.textContent += JSON.stringify(outcome) + "\n";
}

class StorefrontError extends Error {
  constructor(status, body) {
    super(`${status} ${(body && body.errorCode) || ""}`.trim());
    this.status = status;
    this.body = body;
  }
}

async function call(method, path, body) {
  const init = { method, credentials: "same-origin", headers: {} };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(path, init);
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!r.ok) throw new StorefrontError(r.status, data);
  return data;
}

function failure(action, e) {
  if (e instanceof StorefrontError) {
    return { action, ok: false, status: e.status, errorCode: (e.body && e.body.errorCode) || null,
             message: (e.body && e.body.message) || null };
  }
  return { action, ok: false, error: e && e.name, message: String(e && e.message) };
}

// `seen`: what the action learnt before it failed (e.g. which credential the browser signed with).
async function run(action, body, seen = {}) {
  try {
    finish({ action, ok: true, ...(await body()) });
  } catch (e) {
    finish({ ...seen, ...failure(action, e) });
  }
}

async function showWho() {
  const status = document.getElementById("status");
  try {
    const me = await call("GET", "/storefront/me");
    status.textContent = `Signed in as ${me.emailAddress}`;
    return me;
  } catch (e) {
    status.textContent = "Signed out";
    return null;
  }
}

function cancelAutofill() {
  if (autofill) {
    autofill.abort();
    autofill = null;
  }
}

async function passwordSignIn(event) {
  event.preventDefault();
  cancelAutofill();
  await run("password", async () => {
    const username = document.getElementById("username").value;
    const password = document.getElementById("password").value;
    const account = await call("POST", "/storefront/login", { username, password });
    return { account, me: await showWho() };
  });
}

async function addPasskey() {
  await run("register", async () => {
    const { challengeId, options } = await call("POST", "/storefront/passkeys/registrationoptions", {});
    const credential = await navigator.credentials.create({
      publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
    });
    const name = document.getElementById("passkey-name").value;
    const passkey = await call("POST", "/storefront/passkeys",
                               { challengeId, credential: credential.toJSON(), ...(name ? { name } : {}) });
    return { passkey, credentialId: credential.id };
  });
}

async function listPasskeys() {
  await run("list", async () => {
    const page = await call("GET", "/storefront/passkeys");
    const list = document.getElementById("passkeys");
    list.replaceChildren(...page.items.map((p) => {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = p.name;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove ${p.name}`);
      remove.addEventListener("click", () => removePasskey(p.id));
      item.dataset.credentialId = p.credentialId;
      item.append(name, " ", remove);
      return item;
    }));
    return { passkeys: page.items };
  });
}

async function removePasskey(id) {
  await run("remove", async () => {
    await call("DELETE", `/storefront/passkeys/${encodeURIComponent(id)}`);
    return { removed: id };
  });
}

// A passkey sign-in: options from the server (with the email typed, when `withUsername`), the browser's
// ceremony, then the assertion to the server. mediation "conditional" is the autofill form.
async function passkeySignIn(action, withUsername, mediation, seen) {
  const request = withUsername ? { username: document.getElementById("username").value } : {};
  const { challengeId, options } = await call("POST", "/storefront/signin/options", request);
  const get = { publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) };
  if (mediation) {
    autofill = new AbortController();
    get.mediation = mediation;
    get.signal = autofill.signal;
  }
  const pending = navigator.credentials.get(get);
  if (mediation) document.body.dataset.autofill = "pending"; // the browser's autofill may offer a passkey now
  const credential = await pending;
  autofill = null;
  seen.credentialId = credential.id;
  seen.mediation = mediation || "optional";
  const account = await call("POST", "/storefront/signin", { challengeId, credential: credential.toJSON() });
  return { action, mediation: mediation || "optional", credentialId: credential.id, account, me: await showWho() };
}

async function modalSignIn(withUsername) {
  cancelAutofill();
  const action = withUsername ? "passkey-username" : "passkey";
  const seen = {};
  await run(action, () => passkeySignIn(action, withUsername, null, seen), seen);
}

async function startAutofill() {
  if (!(window.PublicKeyCredential && await PublicKeyCredential.isConditionalMediationAvailable())) {
    finish({ action: "autofill", ok: false, error: "NotSupported", message: "no conditional mediation" });
    return;
  }
  const seen = {};
  await run("autofill", () => passkeySignIn("autofill", false, "conditional", seen), seen);
}

async function signOut() {
  cancelAutofill();
  await run("signout", async () => {
    await call("POST", "/storefront/signout", {});
    return { me: await showWho() };
  });
}

document.getElementById("signin-form").addEventListener("submit", passwordSignIn);
document.getElementById("passkey-signin").addEventListener("click", () => modalSignIn(false));
document.getElementById("passkey-signin-username").addEventListener("click", () => modalSignIn(true));
document.getElementById("passkey-add").addEventListener("click", addPasskey);
document.getElementById("passkey-list").addEventListener("click", listPasskeys);
document.getElementById("signout").addEventListener("click", signOut);

showWho().then(() => {
  document.body.dataset.ready = "true";
  if (new URLSearchParams(location.search).has("autofill")) startAutofill();
});
