// Ticketbooth console: the browser's half of a passkey ceremony (console/passkeys.py).
// The page holds the options the server made (data-options: PublicKeyCredentialCreationOptionsJSON or
// ...RequestOptionsJSON) and a form; this script asks the authenticator (navigator.credentials.create or
// .get), puts credential.toJSON() into the form's hidden field and posts it. Nothing else of the console
// needs JavaScript; without it the page says so (the #passkey-needs-js paragraph stays shown).
"use strict";

(function () {
  function fromBase64url(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); }
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i++) { raw += String.fromCharCode(bytes[i]); }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withIds(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: fromBase64url(c.id) }); });
  }

  // The browser's own parsers where it has them (WebAuthn Level 3), else the same conversion by hand.
  function creationOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: fromBase64url(json.challenge),
      user: Object.assign({}, json.user, { id: fromBase64url(json.user.id) }),
      excludeCredentials: withIds(json.excludeCredentials)
    });
  }

  function requestOptions(json) {
    if (window.PublicKeyCredential && PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return Object.assign({}, json, {
      challenge: fromBase64url(json.challenge),
      allowCredentials: withIds(json.allowCredentials)
    });
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") { return credential.toJSON(); }
    var r = credential.response;
    var response = { clientDataJSON: toBase64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) { response.userHandle = toBase64url(r.userHandle); }
    }
    return {
      id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type, response: response,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults()
    };
  }

  function start(box) {
    var status = document.getElementById("passkey-status");
    var button = document.getElementById("passkey-start");
    var form = document.getElementById("passkey-form");
    var field = document.getElementById("passkey-credential");
    var register = box.getAttribute("data-mode") === "register";
    var json = JSON.parse(box.getAttribute("data-options"));
    button.hidden = true;
    status.textContent = register ? "Follow your device's steps to make the passkey…"
                                  : "Follow your device's steps to use your passkey…";
    var asked = register ? navigator.credentials.create({ publicKey: creationOptions(json) })
                         : navigator.credentials.get({ publicKey: requestOptions(json) });
    asked.then(function (credential) {
      if (!credential) { throw new Error("no credential"); }
      field.value = JSON.stringify(credentialJSON(credential));
      status.textContent = "Checking…";
      form.submit();
    }).catch(function (error) {
      var why = error && error.name === "InvalidStateError" && register
        ? "This device holds a passkey for your account already."
        : "No passkey was " + (register ? "made" : "used") + " (cancelled, timed out, or none on this device).";
      status.textContent = why + " You can try again.";
      button.hidden = false;
      button.focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("passkey-ceremony");
    if (!box) { return; }
    var missing = document.getElementById("passkey-needs-js");
    var status = document.getElementById("passkey-status");
    var button = document.getElementById("passkey-start");
    if (!window.PublicKeyCredential || !navigator.credentials) {
      missing.textContent = "This browser cannot use passkeys: use another, or your password and code.";
      return;
    }
    missing.hidden = true;
    button.addEventListener("click", function () { start(box); });
    try {
      start(box);
    } catch (error) {
      status.textContent = "The passkey request could not be read: reload the page.";
    }
  });
})();
