import { MAX_REFERENCES } from './limits';
import type { ParsedMail } from './parsed-mail';

/** The longest Message-ID kept (RFC 5322 lines are at most 998 characters). */
const MAX_ID_LENGTH = 998;

function clean(id: string): string | null {
  const trimmed = id.trim().replace(/^<|>$/g, '').trim();
  if (!trimmed || trimmed.length > MAX_ID_LENGTH || /[\s<>]/.test(trimmed)) return null;
  return trimmed;
}

/** Every Message-ID in a header value, without angle brackets, in order; bare ids when none is bracketed. */
export function parseMessageIds(value: string | null | undefined): string[] {
  if (!value) return [];
  const bracketed = [...value.matchAll(/<([^<>]*)>/g)].map((m) => clean(m[1]));
  const ids = bracketed.length ? bracketed : value.split(/[\s,]+/).map(clean);
  return ids.filter((id): id is string => id !== null);
}

/** The first Message-ID of a header value, without angle brackets, or null. */
export function parseMessageId(value: string | null | undefined): string | null {
  return parseMessageIds(value)[0] ?? null;
}

/**
 * The Message-IDs a mail replies to, for threading: In-Reply-To, then the last MAX_REFERENCES
 * References ids, newest first (the most recent messages of a thread are the likeliest to find it).
 */
export function referencedMessageIds(mail: Pick<ParsedMail, 'inReplyTo' | 'references'>): string[] {
  return [mail.inReplyTo, ...mail.references.slice(-MAX_REFERENCES).reverse()].filter((x): x is string => !!x);
}

/** Message-IDs quoted anywhere in the raw mail (a bounce quotes the mail it returns). */
export function quotedMessageIds(raw: Buffer): string[] {
  const text = raw.toString('latin1');
  return [...text.matchAll(/^Message-ID:\s*<([^<>\s]+)>/gim)].map((m) => m[1]);
}

/**
 * The Message-IDs a bounce may return: In-Reply-To, References and every Message-ID quoted in the
 * raw mail (the returned message's header), except the bounce's own.
 */
export function bouncedMessageIds(
  mail: Pick<ParsedMail, 'messageId' | 'inReplyTo' | 'references'>,
  raw: Buffer,
): string[] {
  return [mail.inReplyTo, ...mail.references, ...quotedMessageIds(raw)].filter(
    (x): x is string => !!x && x !== mail.messageId,
  );
}

/** The keys one raw mail is kept under. */
export interface MailKeys {
  /** `sha256:<hex>` of the raw bytes: the key of a mail that cannot be parsed or has no Message-ID. */
  hash: string;
  /** What inbound_mail deduplicates on: the Message-ID, else the hash. */
  dedupe: string;
  /** The Message-ID the message is stored under: its own, else one made of the hash. */
  messageId: string;
}

/** The key of a raw mail by its bytes: `sha256:` and their hex SHA-256. */
export function hashKey(rawSha256: string): string {
  return `sha256:${rawSha256}`;
}

/** The keys of a parsed mail from its Message-ID and the hex SHA-256 of its raw bytes. */
export function mailKeys(messageId: string | null, rawSha256: string): MailKeys {
  const hash = hashKey(rawSha256);
  return {
    hash,
    dedupe: messageId ?? hash,
    messageId: messageId ?? `${rawSha256.slice(0, 32)}@no-message-id.invalid`,
  };
}
