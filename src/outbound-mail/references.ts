import { stripMessageId } from '../common/addresses';

/** Longest References header we write (RFC 5322 lines stay under 998 characters; we fold well below). */
export const MAX_REFERENCES_LENGTH = 990;

/** `<id>` from a Message-ID with or without angle brackets; '' for an empty one. */
export function bracketMessageId(id: string | null | undefined): string {
  const bare = cleanMessageId(id);
  return bare ? `<${bare}>` : '';
}

/** A Message-ID without brackets and without whitespace or brackets inside (header-injection safe). */
export function cleanMessageId(id: string | null | undefined): string {
  return stripMessageId(id).replace(/[\s<>]+/g, '');
}

/**
 * The References header for a reply: the chain without duplicates, `inReplyTo` appended when the
 * chain lacks it, trimmed to under MAX_REFERENCES_LENGTH by dropping the oldest ids after the
 * first one (the thread root and the newest ids are what mail clients thread on). '' when empty.
 */
export function buildReferences(
  chain: readonly string[] = [],
  inReplyTo?: string | null,
  max = MAX_REFERENCES_LENGTH,
): string {
  const ids: string[] = [];
  for (const raw of [...chain, inReplyTo ?? '']) {
    const id = cleanMessageId(raw);
    if (id && !ids.includes(id)) ids.push(id);
  }
  const length = () => ids.reduce((n, id) => n + id.length + 2, 0) + Math.max(ids.length - 1, 0);
  while (ids.length > 2 && length() > max) ids.splice(1, 1);
  if (ids.length === 2 && length() > max) ids.splice(0, 1);
  return ids.map((id) => `<${id}>`).join(' ');
}
