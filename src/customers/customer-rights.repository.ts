import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/**
 * The mails received that belong to the customer ($1 their requests, $2 their messages, $3 their
 * address): those of their requests, those that became their messages, and those they sent that
 * became nothing (quarantined, ignored, or appended to a request of someone else).
 */
const THEIR_INBOUND = `(request_id = ANY ($1::int[]) OR message_row_id = ANY ($2::int[]) OR lower(from_address) = $3)`;

/**
 * The statements of the customer's rights (written to customer-rights.repository.sql by `npm run
 * sql`): the export's reads (metadata; bytes are read by their own services, see
 * CustomerExportService) and the erasure's statements, each run in the erasure's transaction.
 */
export const SQL = {
  // ---- export ----
  customer: `SELECT id, email, name, blocked, locale, created_at, updated_at FROM customers WHERE id = $1`,
  /** Their requests, oldest first, without the search vector and counters. */
  requests: `SELECT to_jsonb(r) - ARRAY['search_vector', 'last_seq', 'priority_rank'] AS request
      FROM requests r WHERE r.customer_id = $1 ORDER BY r.id`,
  participants: `SELECT email, name, source, created_at FROM request_participants WHERE request_id = $1 ORDER BY email`,
  events: `SELECT id, type, actor, operator_id, data, created_at FROM request_events WHERE request_id = $1 ORDER BY id`,
  /**
   * Ids of the messages in their requests ($1) and of those they sent ($2, their address) into
   * requests of others (a reply to a thread they were copied on), in conversation order.
   */
  messageIds: `SELECT id, request_id, seq FROM messages
      WHERE request_id = ANY ($1::int[]) OR lower(from_address) = $2 ORDER BY request_id, seq`,
  /** One message: its headers and text (the bytes of its attachments are read one at a time). */
  message: `SELECT id, request_id, seq, direction, kind, operator_id, from_address, from_name, sender_source,
           to_addresses, cc_addresses, bcc_addresses, subject, text, visible_text, html, message_id, in_reply_to,
           "references", side_thread_id, created_at, sent_at
      FROM messages WHERE id = $1`,
  attachmentsOf: `SELECT id, message_id, filename, content_type, size, sha256, content_id, created_at
      FROM attachments WHERE message_id = ANY ($1::int[]) ORDER BY message_id, id`,
  /** Their received mails, without the bytes. */
  inboundOf: `SELECT id, source, message_id, from_address, subject, size, status, reason, request_id, message_row_id,
           received_at, processed_at
      FROM inbound_mail WHERE ${THEIR_INBOUND} ORDER BY id`,
  /** The mails sent to them (auto-replies, answers, delivery state). */
  outboxOf: `SELECT id, message_id, kind, to_address, from_address, cc_addresses, subject, headers, text, html, status,
           attempts, last_error, sent_at, created_at
      FROM outbox WHERE lower(to_address) = $1 ORDER BY id`,

  // ---- erasure (one transaction, in this order) ----
  /** The customer's row, locked: ingest upserts (and so locks) it first, so mail from them waits or went before. */
  lockCustomer: `SELECT id, email FROM customers WHERE id = $1 FOR UPDATE`,
  lockRequests: `SELECT id FROM requests WHERE customer_id = $1 ORDER BY id FOR UPDATE`,
  /** Their messages: in their requests, and those they sent into requests of others. */
  doomedMessages: `SELECT id, request_id FROM messages WHERE request_id = ANY ($1::int[]) OR lower(from_address) = $2`,
  /** The content hashes of their attachments (the blob store's keys). */
  attachmentHashes: `SELECT sha256 FROM attachments WHERE message_id = ANY ($1::int[])`,
  /** The content hashes of their received mails (SHA-256 of the raw bytes), and how many. */
  /** The blobs of their raw mails (rows from before the blob store hold their bytes and name none). */
  rawMailHashes: `SELECT raw_sha256 AS sha256 FROM inbound_mail WHERE raw_sha256 IS NOT NULL AND (${THEIR_INBOUND})`,
  deleteInbound: `WITH gone AS (DELETE FROM inbound_mail WHERE ${THEIR_INBOUND} RETURNING 1)
      SELECT count(*)::int AS n FROM gone`,
  /** Mail to them or of their messages, pending or not: a pending one is cancelled. */
  deleteOutbox: `WITH gone AS (DELETE FROM outbox WHERE message_id = ANY ($1::int[]) OR lower(to_address) = $2
        RETURNING status)
      SELECT count(*)::int AS n, count(*) FILTER (WHERE status = 'pending')::int AS pending FROM gone`,
  /** Their address off the copies of mail to others. */
  scrubOutboxCopies: `UPDATE outbox SET cc_addresses = array_remove(cc_addresses, $1), bcc_addresses = array_remove(bcc_addresses, $1)
      WHERE $1 = ANY (cc_addresses) OR $1 = ANY (bcc_addresses)`,
  /** Webhook deliveries about their requests or messages. */
  deleteDeliveries: `WITH gone AS (DELETE FROM webhook_deliveries
        WHERE payload->'data'->>'requestId' = ANY ($1::text[]) OR payload->'data'->>'messageId' = ANY ($2::text[])
        RETURNING 1)
      SELECT count(*)::int AS n FROM gone`,
  /**
   * Their address out of the rest (deliveries and history entries about others' requests that name
   * them): an address holds an @, so it can only stand inside a JSON string, and plain letters in
   * its place keep the JSON valid.
   */
  scrubDeliveries: `UPDATE webhook_deliveries SET payload = replace(payload::text, $1, 'erased')::jsonb
      WHERE strpos(lower(payload::text), $1) > 0`,
  scrubEvents: `UPDATE request_events SET data = replace(data::text, $1, 'erased')::jsonb
      WHERE request_id <> ALL ($2::int[]) AND strpos(lower(data::text), $1) > 0`,
  /** Their address off the participants, side threads and recipients of others' requests. */
  deleteParticipantEntries: `WITH gone AS (DELETE FROM request_participants WHERE email = $1 AND request_id <> ALL ($2::int[])
        RETURNING 1)
      SELECT count(*)::int AS n FROM gone`,
  scrubSideThreads: `UPDATE side_threads SET addresses = array_remove(addresses, $1) WHERE $1 = ANY (addresses)
      AND request_id <> ALL ($2::int[]) AND cardinality(addresses) > 1`,
  scrubRecipients: `UPDATE messages SET to_addresses = array_remove(to_addresses, $1), cc_addresses = array_remove(cc_addresses, $1),
        bcc_addresses = array_remove(bcc_addresses, $1)
      WHERE ($1 = ANY (to_addresses) OR $1 = ANY (cc_addresses) OR $1 = ANY (bcc_addresses)) AND request_id <> ALL ($2::int[])`,
  /** Links of others' requests to theirs (a request merged into one of theirs, a follow-up of one). */
  unlinkOthers: `UPDATE requests SET merged_into_id = CASE WHEN merged_into_id = ANY ($1::int[]) THEN NULL ELSE merged_into_id END,
        previous_request_id = CASE WHEN previous_request_id = ANY ($1::int[]) THEN NULL ELSE previous_request_id END,
        split_from_id = CASE WHEN split_from_id = ANY ($1::int[]) THEN NULL ELSE split_from_id END
      WHERE id <> ALL ($1::int[])
        AND (merged_into_id = ANY ($1::int[]) OR previous_request_id = ANY ($1::int[]) OR split_from_id = ANY ($1::int[]))`,
  /** A request of someone else that holds messages of theirs, locked as an append locks it. */
  lockOtherRequest: `SELECT id FROM requests WHERE id = $1 FOR UPDATE`,
  deleteMessages: `DELETE FROM messages WHERE id = ANY ($1::int[])`,
  /** What the reports count of their requests, kept without them (erased_requests). */
  keepShells: `INSERT INTO erased_requests (id, status, priority, operator_id, group_id, created_at, first_response_at,
           first_response_due_at, resolution_due_at, closed_at, satisfaction_rating)
      SELECT id, status, priority, operator_id, group_id, created_at, first_response_at, first_response_due_at,
             resolution_due_at, closed_at, satisfaction_rating
        FROM requests WHERE id = ANY ($1::int[])
      ON CONFLICT (id) DO NOTHING`,
  /** Their requests; messages, attachments, history, participants, side threads and presence go with them. */
  deleteRequests: `DELETE FROM requests WHERE id = ANY ($1::int[])`,
  deleteCustomer: `DELETE FROM customers WHERE id = $1`,
} as const;

/** A row of the export, as JSON. */
export type ExportRow = Record<string, unknown>;

/** An attachment's metadata (its bytes: MessagesService.openAttachment). */
export interface ExportAttachment {
  id: number;
  messageId: number;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
}

/** What an erasure removed: ids and counts only. */
export interface ErasureCounts {
  requests: number;
  messages: number;
  attachments: number;
  rawMails: number;
  outboxMails: number;
  pendingMailsCancelled: number;
  webhookDeliveries: number;
  participantEntries: number;
}

/** What the erasure hands on once it committed: the content hashes whose bytes the blob store may drop. */
export interface ErasureOutcome {
  counts: ErasureCounts;
  requestIds: number[];
  blobHashes: string[];
}

const ints = (rows: Array<{ id: number | string }>): number[] => rows.map((r) => Number(r.id));
const n = (rows: Array<{ n: number }>): number => Number(rows[0]?.n ?? 0);

/** The customer's data as the export reads it and the erasure removes it. */
@Injectable()
export class CustomerRightsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async customer(id: number): Promise<ExportRow | null> {
    const rows: ExportRow[] = await this.dataSource.query(SQL.customer, [id]);
    return rows[0] ?? null;
  }

  async requests(customerId: number): Promise<ExportRow[]> {
    const rows: Array<{ request: ExportRow }> = await this.dataSource.query(SQL.requests, [customerId]);
    return rows.map((r) => r.request);
  }

  participants(requestId: number): Promise<ExportRow[]> {
    return this.dataSource.query(SQL.participants, [requestId]);
  }

  events(requestId: number): Promise<ExportRow[]> {
    return this.dataSource.query(SQL.events, [requestId]);
  }

  async messageIds(
    requestIds: number[],
    email: string,
  ): Promise<Array<{ id: number; requestId: number; seq: number }>> {
    const rows: Array<{ id: number; request_id: number; seq: number }> = await this.dataSource.query(SQL.messageIds, [
      requestIds,
      email,
    ]);
    return rows.map((r) => ({ id: r.id, requestId: r.request_id, seq: r.seq }));
  }

  async message(id: number): Promise<ExportRow | null> {
    const rows: ExportRow[] = await this.dataSource.query(SQL.message, [id]);
    return rows[0] ?? null;
  }

  async attachmentsOf(messageIds: number[]): Promise<ExportAttachment[]> {
    if (!messageIds.length) return [];
    const rows: Array<Record<string, unknown>> = await this.dataSource.query(SQL.attachmentsOf, [messageIds]);
    return rows.map((r) => ({
      id: Number(r.id),
      messageId: Number(r.message_id),
      filename: r.filename as string,
      contentType: r.content_type as string,
      size: Number(r.size),
      sha256: r.sha256 as string,
    }));
  }

  inboundOf(requestIds: number[], messageIds: number[], email: string): Promise<ExportRow[]> {
    return this.dataSource.query(SQL.inboundOf, [requestIds, messageIds, email]);
  }

  outboxOf(email: string): Promise<ExportRow[]> {
    return this.dataSource.query(SQL.outboxOf, [email]);
  }

  /**
   * Erases the customer in one transaction (docs/privacy.md); `check` sees their address once their
   * row is locked and may throw (a wrong confirmation), which rolls everything back; `renumber`
   * renumbers the others' conversations their messages left (RequestMergeService). null when
   * there is no such customer.
   */
  erase(
    id: number,
    check: (email: string) => void,
    renumber: (requestIds: number[], manager: EntityManager) => Promise<void>,
  ): Promise<ErasureOutcome | null> {
    return this.dataSource.transaction(async (m: EntityManager) => {
      const [customer]: Array<{ id: number; email: string }> = await m.query(SQL.lockCustomer, [id]);
      if (!customer) return null;
      check(customer.email);
      const email = customer.email.toLowerCase();
      const requestIds = ints(await m.query(SQL.lockRequests, [id]));
      const messages: Array<{ id: number; request_id: number }> = await m.query(SQL.doomedMessages, [
        requestIds,
        email,
      ]);
      const messageIds = ints(messages);
      const theirs = new Set(requestIds);
      const othersTouched = [...new Set(messages.filter((x) => !theirs.has(x.request_id)).map((x) => x.request_id))];
      // Lock the others' requests whose messages go, as an append does, before anything changes.
      for (const requestId of othersTouched.sort((a, b) => a - b)) {
        await m.query(SQL.lockOtherRequest, [requestId]);
      }
      const attachmentHashes: Array<{ sha256: string }> = await m.query(SQL.attachmentHashes, [messageIds]);
      const rawHashes: Array<{ sha256: string }> = await m.query(SQL.rawMailHashes, [requestIds, messageIds, email]);
      const rawMails = n(await m.query(SQL.deleteInbound, [requestIds, messageIds, email]));
      const [outbox]: Array<{ n: number; pending: number }> = await m.query(SQL.deleteOutbox, [messageIds, email]);
      await m.query(SQL.scrubOutboxCopies, [email]);
      const webhookDeliveries = n(
        await m.query(SQL.deleteDeliveries, [requestIds.map(String), messageIds.map(String)]),
      );
      await m.query(SQL.scrubDeliveries, [email]);
      await m.query(SQL.scrubEvents, [email, requestIds]);
      const participantEntries = n(await m.query(SQL.deleteParticipantEntries, [email, requestIds]));
      await m.query(SQL.scrubSideThreads, [email, requestIds]);
      await m.query(SQL.scrubRecipients, [email, requestIds]);
      await m.query(SQL.unlinkOthers, [requestIds]);
      await m.query(SQL.deleteMessages, [messageIds.filter((_, i) => !theirs.has(messages[i].request_id))]);
      // The others' requests that lost messages: numbered 1..n again, last number and search text
      // from what is left (the requests module's statements; nothing the reports count changes).
      await renumber(othersTouched, m);
      await m.query(SQL.keepShells, [requestIds]);
      await m.query(SQL.deleteRequests, [requestIds]);
      await m.query(SQL.deleteCustomer, [id]);
      return {
        counts: {
          requests: requestIds.length,
          messages: messageIds.length,
          attachments: attachmentHashes.length,
          rawMails,
          outboxMails: Number(outbox?.n ?? 0),
          pendingMailsCancelled: Number(outbox?.pending ?? 0),
          webhookDeliveries,
          participantEntries,
        },
        requestIds,
        blobHashes: [...new Set([...attachmentHashes, ...rawHashes].map((h) => h.sha256))],
      };
    });
  }
}
