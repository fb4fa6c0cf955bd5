/** Lower-cased bare address from `Name <addr>` or `addr`; '' when there is none. */
export function normalizeAddress(value: string | null | undefined): string {
  if (!value) return '';
  const m = /<([^<>]*)>\s*$/.exec(value);
  return (m ? m[1] : value).trim().toLowerCase();
}

/** A Message-ID without angle brackets or surrounding space. */
export function stripMessageId(value: string | null | undefined): string {
  if (!value) return '';
  return value.trim().replace(/^<+/, '').replace(/>+$/, '').trim();
}
