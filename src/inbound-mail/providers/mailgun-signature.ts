import * as crypto from 'node:crypto';

/** How far Mailgun's `timestamp` may be from now, either way (older calls are refused: replays). */
export const MAILGUN_MAX_AGE_SECONDS = 300;

/** The signature fields of a Mailgun call (route forwards carry them as form fields). */
export interface MailgunSignature {
  timestamp: string | undefined;
  token: string | undefined;
  signature: string | undefined;
}

/** `hex(HMAC-SHA256(signingKey, timestamp + token))`, as Mailgun signs its webhooks. */
export function mailgunSignatureOf(signingKey: string, timestamp: string, token: string): string {
  return crypto
    .createHmac('sha256', signingKey)
    .update(timestamp + token)
    .digest('hex');
}

/**
 * Why Mailgun's signature of a call is refused (missing fields, a timestamp more than
 * MAILGUN_MAX_AGE_SECONDS from now, a signature that does not match), or null when it is valid.
 * The digests are compared in constant time.
 */
export function mailgunSignatureProblem(
  signingKey: string,
  fields: MailgunSignature,
  nowSeconds = Math.floor(Date.now() / 1000),
): string | null {
  const { timestamp, token, signature } = fields;
  if (!timestamp || !token || !signature) return 'timestamp, token and signature are required';
  if (!/^\d{1,12}$/.test(timestamp)) return 'timestamp must be unix seconds';
  if (token.length > 512) return 'token is too long';
  if (!/^[0-9a-f]{64}$/i.test(signature)) return 'signature must be 64 hex digits';
  if (Math.abs(nowSeconds - Number(timestamp)) > MAILGUN_MAX_AGE_SECONDS) {
    return `timestamp is more than ${MAILGUN_MAX_AGE_SECONDS} seconds away from the server's clock`;
  }
  const expected = Buffer.from(mailgunSignatureOf(signingKey, timestamp, token), 'hex');
  const given = Buffer.from(signature, 'hex');
  return crypto.timingSafeEqual(expected, given) ? null : 'signature does not match';
}
