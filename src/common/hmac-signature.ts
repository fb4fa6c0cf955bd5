import * as crypto from 'node:crypto';

/**
 * The one HMAC of MailDesk's webhooks, both ways: `sha256=<hex of HMAC-SHA256(secret, timestamp + "." + body)>`.
 * Scripts sign what they post to the inbound webhook with it (X-MailDesk-Signature, checked in
 * inbound-mail/webhook/webhook-signature.ts), and MailDesk signs every outgoing webhook call with
 * it for its receivers (webhooks/webhook.dispatcher.ts). `timestamp` is the unix time in seconds
 * sent beside it (X-MailDesk-Timestamp); a string body is signed as its UTF-8 bytes.
 */
export function hmacSignature(secret: string, timestamp: number | string, body: Buffer | string): string {
  const mac = crypto.createHmac('sha256', secret);
  mac.update(`${timestamp}.`);
  mac.update(body);
  return `sha256=${mac.digest('hex')}`;
}

/** The form of a signature: `sha256=` and 64 hex digits (either case). */
export const HMAC_SIGNATURE_FORMAT = /^sha256=([0-9a-f]{64})$/i;

/**
 * Whether `given` (`sha256=<64 hex digits>`, surrounding spaces ignored) is the signature of
 * `body` at `timestamp`; the digests are compared in constant time. False for a malformed one.
 */
export function hmacSignatureMatches(
  secret: string,
  timestamp: number | string,
  body: Buffer | string,
  given: string,
): boolean {
  const hex = HMAC_SIGNATURE_FORMAT.exec(given.trim())?.[1];
  if (!hex) return false;
  const expected = hmacSignature(secret, timestamp, body).slice('sha256='.length);
  return crypto.timingSafeEqual(Buffer.from(hex.toLowerCase(), 'hex'), Buffer.from(expected, 'hex'));
}
