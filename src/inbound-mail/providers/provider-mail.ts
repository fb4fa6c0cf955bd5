import { BadRequestException } from '@nestjs/common';
import type { ParsedFields } from './mime-builder';

/** What a provider's call holds: the raw mail, or the fields to build it from, and its envelope. */
export interface ProviderMail {
  /** The whole mail as the provider received it (Mailgun `body-mime`, SendGrid `email`, Postmark `RawEmail`). */
  raw: Buffer | null;
  /** The parsed fields, when there is no raw mail. */
  fields: ParsedFields | null;
  /** The envelope's recipients (routing asks them first). */
  envelopeTo: string[];
  /** The envelope's sender, when the provider gives it. */
  envelopeFrom: string | null;
}

/** Most envelope recipients taken from one call. */
const MAX_RECIPIENTS = 100;

/** Addresses of a comma-separated list (`a@x, <b@y>`), lower-cased, at most MAX_RECIPIENTS. */
export function addressList(value: unknown): string[] {
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : [];
  return items
    .filter((v): v is string => typeof v === 'string')
    .map((v) => (/<([^<>]+)>/.exec(v)?.[1] ?? v).trim().toLowerCase())
    .filter((v) => /^[^\s@<>]+@[^\s@<>]+$/.test(v))
    .slice(0, MAX_RECIPIENTS);
}

/** A JSON field of a form, parsed; `fallback` when absent; 400 when it is not valid JSON. */
export function jsonField<T>(fields: Record<string, string>, name: string, fallback: T): unknown {
  const value = fields[name];
  if (value === undefined || value === '') return fallback;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    throw new BadRequestException(`${name} is not valid JSON`);
  }
}

/** An optional string property of a JSON body; 400 when present and not a string. */
export function optionalString(body: Record<string, unknown>, name: string): string | null {
  const value = body[name];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new BadRequestException(`${name} must be a string`);
  return value;
}

/** `"Name" <address>`, or the bare address when there is no name. */
export function formatAddress(address: string, name?: string | null): string {
  const n = (name ?? '').replace(/[\r\n]+/g, ' ').trim();
  return n ? `"${n.replace(/["\\]/g, '\\$&')}" <${address.trim()}>` : address.trim();
}
