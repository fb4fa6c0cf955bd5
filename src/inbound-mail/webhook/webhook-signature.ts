import * as crypto from 'node:crypto';

/** Header with the unix time (seconds) the sender signed the call at. */
export const TIMESTAMP_HEADER = 'x-maildesk-timestamp';
/** Header with `sha256=<hex of HMAC-SHA256(secret, timestamp + "." + raw body)>`. */
export const SIGNATURE_HEADER = 'x-maildesk-signature';
/** How far the timestamp may be from now, either way (replays of older calls are refused). */
export const SIGNATURE_MAX_AGE_SECONDS = 300;

/** The signature header value a sender computes for a body at a unix time. */
export function signWebhookBody(secret: string, timestamp: number | string, rawBody: Buffer | string): string {
  const mac = crypto.createHmac('sha256', secret);
  mac.update(`${timestamp}.`);
  mac.update(rawBody);
  return `sha256=${mac.digest('hex')}`;
}

/**
 * Why a signed webhook call is refused, or null when the signature is valid and fresh. The digest is
 * compared in constant time.
 */
export function signatureProblem(
  secret: string,
  timestamp: string | undefined,
  signature: string | undefined,
  rawBody: Buffer,
  nowSeconds = Math.floor(Date.now() / 1000),
): string | null {
  if (!timestamp || !signature) return `the ${TIMESTAMP_HEADER} and ${SIGNATURE_HEADER} headers are required`;
  if (!/^\d{1,12}$/.test(timestamp)) return `${TIMESTAMP_HEADER} must be unix seconds`;
  if (Math.abs(nowSeconds - Number(timestamp)) > SIGNATURE_MAX_AGE_SECONDS) {
    return `${TIMESTAMP_HEADER} is more than ${SIGNATURE_MAX_AGE_SECONDS} seconds away from the server's clock`;
  }
  const given = /^sha256=([0-9a-f]{64})$/i.exec(signature.trim())?.[1];
  if (!given) return `${SIGNATURE_HEADER} must be sha256=<64 hex digits>`;
  const expected = signWebhookBody(secret, timestamp, rawBody).slice('sha256='.length);
  const ok = crypto.timingSafeEqual(Buffer.from(given.toLowerCase(), 'hex'), Buffer.from(expected, 'hex'));
  return ok ? null : `${SIGNATURE_HEADER} does not match the body`;
}
