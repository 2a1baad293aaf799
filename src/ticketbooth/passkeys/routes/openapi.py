"""The passkey routes' entries of the OpenAPI document (kibo/openapi.py `extend`)."""

from __future__ import annotations

from ticketbooth.kibo import openapi
from ticketbooth.kibo.openapi import BOOL, DATE, SHOPPER, STRING, TEXT, Operation, array, collection, shape
from ticketbooth.passkeys.routes import bodies

ACCOUNTS = f"{openapi.A}/{{accountId}}/passkeys"
AUTHTICKETS = f"{openapi.T}/passkeys"
_OBJECT = {"type": "object", "description": "WebAuthn options as JSON: pass them to the browser's "
           "PublicKeyCredential.parseCreationOptionsFromJSON / parseRequestOptionsFromJSON"}

SCHEMAS = {
    "Passkey": shape("A shopper's passkey (never its public key).", id=STRING, name=STRING, credentialId=STRING,
                     createdOn=DATE, lastUsedOn=DATE, backupEligible=BOOL, backedUp=BOOL, transports=array(STRING),
                     aaguid=TEXT),
    "PasskeyCollection": collection("Passkey", "An account's passkeys, all of them."),
    "PasskeyOptions": shape("A passkey ceremony's challenge id (send it back with the browser's answer) and the "
                            "options for the browser.", challengeId=STRING, options=_OBJECT),
}

OPERATIONS = {
    ("POST", f"{ACCOUNTS}/registrationoptions"): Operation("PasskeyOptions", body="PasskeyUpdateInput", auth=SHOPPER),
    ("POST", ACCOUNTS): Operation("Passkey", body="PasskeyRegistrationInput", body_required=True, auth=SHOPPER),
    ("GET", ACCOUNTS): Operation("PasskeyCollection", auth=SHOPPER),
    ("PUT", f"{ACCOUNTS}/{{passkeyId}}"): Operation("Passkey", body="PasskeyUpdateInput", body_required=True,
                                                     auth=SHOPPER),
    ("DELETE", f"{ACCOUNTS}/{{passkeyId}}"): Operation("204", auth=SHOPPER),
    ("POST", f"{AUTHTICKETS}/options"): Operation("PasskeyOptions", "400 401 409 413 429 503",
                                                  body="PasskeyOptionsInput"),
    ("POST", AUTHTICKETS): Operation("CustomerAuthTicket", "400 401 409 413 429 503", body="PasskeyAuthInput",
                                     body_required=True, auth=SHOPPER),
}

openapi.extend(operations=OPERATIONS, schemas=SCHEMAS, models=(
    bodies.PasskeyRegistrationInput, bodies.PasskeyUpdateInput, bodies.PasskeyOptionsInput, bodies.PasskeyAuthInput))
