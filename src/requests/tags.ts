/**
 * Priorities and tags of requests (issue 21 item 1): the one home of their values and rules.
 */

/** A request's priority; every request starts `normal` (mail may ask for `high`: mailPriority). */
export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;

export type Priority = (typeof PRIORITIES)[number];

/** At most this many tags on one request. */
export const MAX_TAGS = 20;

/** A tag's length, after normalization. */
export const MAX_TAG_LENGTH = 50;

/** What a normalized tag may hold: letters and digits of any script, and `- _ . : / + #`. */
const TAG_PATTERN = /^[\p{L}\p{N}_.:/+#-]+$/u;

/**
 * The normalized form of a tag, or null when it is not one: NFC, trimmed, lower-case, each run of
 * inner whitespace one '-'; then 1-50 characters of TAG_PATTERN. So "  Billing Issue " is
 * "billing-issue", and "VIP" and "vip" are one tag.
 */
export function normalizeTag(raw: string): string | null {
  const tag = raw.normalize('NFC').trim().toLowerCase().replace(/\s+/gu, '-');
  if (tag.length < 1 || tag.length > MAX_TAG_LENGTH || !TAG_PATTERN.test(tag)) return null;
  return tag;
}

/**
 * The normalized tags of a request: each normalized, duplicates (after normalization) dropped,
 * sorted; `invalid` lists the inputs that are no tag, and `tooMany` says there are over MAX_TAGS.
 */
export function normalizeTags(raw: readonly string[]): { tags: string[]; invalid: string[]; tooMany: boolean } {
  const tags = new Set<string>();
  const invalid: string[] = [];
  for (const r of raw) {
    const tag = normalizeTag(r);
    if (tag === null) invalid.push(r);
    else tags.add(tag);
  }
  const sorted = [...tags].sort();
  return { tags: sorted, invalid, tooMany: sorted.length > MAX_TAGS };
}

/**
 * The priority an inbound mail asks for: `high` when it says so (`Importance: high`,
 * `X-Priority: 1` or `2`, `Priority: urgent`), else `normal`. Never above high: a sender does not
 * choose urgent; an automatic mail (auto-reply, bulk, list) stays normal (the caller says).
 */
export function mailPriority(headers: {
  importance?: string | null;
  xPriority?: string | null;
  priority?: string | null;
}): Priority {
  if (/^\s*high\b/i.test(headers.importance ?? '')) return 'high';
  if (/^\s*[12]\b/.test(headers.xPriority ?? '')) return 'high';
  if (/^\s*urgent\b/i.test(headers.priority ?? '')) return 'high';
  return 'normal';
}
