// What the conformance drivers (kibo_client.mjs, kibo_b2b.mjs) share: their usage error, SDK calls whose
// failures are results, Kibo's errors described for the tests, JSON arguments, and multi-step scenarios.

export class UsageError extends Error {}

export class SdkFailure {
  constructor(error) { this.error = error; }
}

// Runs one SDK call; anything it throws is a result, not a driver failure.
export async function sdk(fn) {
  try {
    return await fn();
  } catch (error) {
    throw new SdkFailure(error);
  }
}

export function describeError(error) {
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

export function jsonObject(text, what) {
  if (text === undefined || text === '') return {};
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`${what} is not JSON: ${text}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new UsageError(`${what} must be a JSON object`);
  return value;
}

// The steps of a multi-step scenario: each SDK call's outcome is recorded under its name and the
// script goes on; a step whose prerequisites failed is recorded as skipped instead of being run.
export class Steps {
  constructor() { this.steps = {}; }

  ok(name) { return this.steps[name]?.ok === true; }

  async run(name, fn, needs = []) {
    if (Object.hasOwn(this.steps, name)) throw new Error(`step ${name} recorded twice`);
    const missing = needs.filter((n) => !this.ok(n));
    if (missing.length) {
      this.steps[name] = { ok: false, error: { kind: 'Skipped', message: `needs ${missing.join(', ')}`, status: null, errorCode: null } };
      return undefined;
    }
    try {
      const value = await fn();
      this.steps[name] = { ok: true, result: value === undefined ? null : value };
      return value;
    } catch (error) {
      this.steps[name] = { ok: false, error: describeError(error) };
      return undefined;
    }
  }
}
