import type { SinkMail } from '../../setup/smtp-sink';

/** How often each `key` occurs in the rows. */
export function countBy(rows: Array<{ key: string | null }>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of rows) if (r.key !== null) counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
  return counts;
}

/** Mails the SMTP sink accepted, counted per Message-ID (without the angle brackets). */
export function deliveriesByMessageId(mails: SinkMail[]): Map<string, number> {
  return countBy(mails.map((m) => ({ key: m.parsed.messageId?.replace(/^<|>$/g, '') ?? null })));
}
