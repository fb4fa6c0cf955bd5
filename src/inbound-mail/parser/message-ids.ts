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
