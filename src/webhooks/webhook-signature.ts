import * as crypto from 'node:crypto';

/** A new signing secret, shown once at registration. */
export function newWebhookSecret(): string {
  return `whsec_${crypto.randomBytes(32).toString('hex')}`;
}

/** `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`: the X-MailDesk-Signature of a delivery. */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return `sha256=${crypto.createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}
