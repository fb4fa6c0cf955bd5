import type { DataSource } from 'typeorm';
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

/**
 * The creation auto-replies as the database and the SMTP sink see them: requests without exactly
 * one auto-reply message, auto-replies the sink never received, and how many deliveries repeated
 * one (the send and its "sent" mark cannot be atomic, so a kill can repeat what was in flight).
 */
export async function autoReplyAccount(
  dataSource: DataSource,
  mails: SinkMail[],
): Promise<{
  notOnePerRequest: Array<{ request_id: number; n: number }>;
  replyIds: string[];
  undelivered: string[];
  duplicates: number;
}> {
  const perRequest: Array<{ request_id: number; n: number }> = await dataSource.query(
    `SELECT r.id AS request_id, count(m.id)::int AS n FROM requests r
     LEFT JOIN messages m ON m.request_id = r.id AND m.kind = 'auto_reply' GROUP BY r.id`,
  );
  const replyIds: string[] = (await dataSource.query(`SELECT message_id FROM messages WHERE kind = 'auto_reply'`)).map(
    (r: { message_id: string }) => r.message_id,
  );
  const delivered = deliveriesByMessageId(mails);
  return {
    notOnePerRequest: perRequest.filter((r) => r.n !== 1),
    replyIds,
    undelivered: replyIds.filter((id) => !delivered.has(id)),
    duplicates: [...delivered.values()].reduce((s, n) => s + n - 1, 0),
  };
}
