import * as crypto from 'node:crypto';
import type { PoolClient } from 'pg';
import type { BenchMail } from './emails';

/** A mail as the SQL ceiling needs it: everything the app would parse, precomputed. */
export interface CeilingMail {
  mail: BenchMail;
  sha256: string | null;
}

export function toCeilingMail(mail: BenchMail): CeilingMail {
  return {
    mail,
    sha256: mail.attachment ? crypto.createHash('sha256').update(mail.attachment.content).digest('hex') : null,
  };
}

const REQUEST_BY_ID = `SELECT r.*, c.id AS c_id, c.email AS c_email, c.name AS c_name, c.blocked AS c_blocked, o.id AS o_id, o.name AS o_name
  FROM requests r INNER JOIN customers c ON c.id = r.customer_id LEFT JOIN operators o ON o.id = r.operator_id WHERE r.id = $1`;

/** MessagesService.append: the request's next seq, activity times and search vector, then the message. */
const APPEND_MESSAGE = `WITH s AS (UPDATE requests SET last_seq = last_seq + 1, updated_at = clock_timestamp(),
    last_message_at = CASE WHEN $2 = 'in' OR last_message_at IS NULL THEN clock_timestamp() ELSE last_message_at END,
    first_response_at = CASE WHEN $3::boolean AND first_response_at IS NULL THEN clock_timestamp() ELSE first_response_at END,
    search_vector = CASE WHEN $4 = '' THEN search_vector ELSE search_vector || strip(to_tsvector('simple', left($4, 10000))) END
  WHERE id = $1 RETURNING last_seq)
  INSERT INTO messages (request_id, seq, direction, kind, operator_id, from_address, from_name, to_addresses,
    cc_addresses, subject, text, html, message_id, in_reply_to, "references", created_at)
  SELECT $1, s.last_seq, $2, $5::text, $6::int, $7::text, $8::text, $9::text[], $10::text[], $11::text, $12::text,
    $13::text, $14::text, $15::text, $16::text[], clock_timestamp() FROM s
  RETURNING id, seq, created_at`;

/** WebhooksService.enqueueAll (no webhook registered in the bench: inserts nothing, as in the app). */
const ENQUEUE_WEBHOOKS = `INSERT INTO webhook_deliveries (webhook_id, event, payload)
  SELECT w.id, e.event, jsonb_build_object('event', e.event, 'occurredAt', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'data', e.data)
    FROM unnest($1::text[], $2::jsonb[]) WITH ORDINALITY AS e(event, data, n)
    JOIN webhooks w ON e.event = ANY (w.events)
   ORDER BY e.n, w.id
  RETURNING id`;

const INSERT_EVENT = `INSERT INTO request_events (request_id, type, actor, operator_id, data, created_at) VALUES ($1, $2, $3, $4, $5, clock_timestamp())`;

/**
 * The statements MailDesk's ingest transaction issues for one plain customer email (read from
 * InboundMailService, resolveThread, RequestsService, MessagesService, ConversationService and
 * OutboxService, and checked against the PostgreSQL statement log), in the same order and the same
 * round trips, with no HTTP and no MIME parsing. A new request also gets its creation auto-reply
 * and the dispatcher's `mark sent` update. Returns whether a request was created.
 */
export async function ceilingIngest(c: PoolClient, m: CeilingMail, n: number): Promise<boolean> {
  const mail = m.mail;
  // The blocklist check, before the transaction (BlocklistService.match: the address and its domains).
  const labels = (mail.from.split('@')[1] ?? '').split('.');
  await c.query(`SELECT * FROM blocklist WHERE pattern = ANY ($1) ORDER BY length(pattern) DESC LIMIT 1`, [
    [mail.from, `@${labels.join('.')}`, ...labels.map((_, i) => `*.${labels.slice(i).join('.')}`)],
  ]);
  await c.query('START TRANSACTION');
  let created = false;
  let outboxId: string | null = null;
  try {
    const claimed = await c.query(
      `INSERT INTO inbound_mail (source, dedupe_key, message_id, from_address, subject, size, raw, status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'appended')
       ON CONFLICT (dedupe_key) DO UPDATE SET status = 'appended', attempts = inbound_mail.attempts + 1
         WHERE inbound_mail.status = 'quarantined'
       RETURNING id`,
      ['webhook', mail.messageId, mail.messageId, mail.from, mail.subject, mail.raw.length, mail.raw],
    );
    const inboundId = claimed.rows[0].id;
    let requestId: number | null = null;
    if (mail.inReplyTo) {
      const refs = await c.query('SELECT DISTINCT request_id FROM messages WHERE message_id = ANY ($1)', [
        [mail.inReplyTo, mail.inReplyTo],
      ]);
      for (const row of refs.rows) {
        const found = await c.query(
          `SELECT r.id, r.status, r.customer_id FROM requests r JOIN customers c ON c.id = r.customer_id
           WHERE r.id = $1 AND (c.email = $2 OR EXISTS (
             SELECT 1 FROM messages m WHERE m.request_id = r.id
               AND (m.from_address = $2 OR $2 = ANY (m.to_addresses) OR $2 = ANY (m.cc_addresses))))`,
          [row.request_id, mail.from],
        );
        if (found.rows[0] && found.rows[0].status !== 'closed') {
          requestId = found.rows[0].id;
          break;
        }
      }
    }
    if (requestId === null) {
      const customer = await c.query(
        `INSERT INTO customers (email, name) VALUES ($1, $2)
         ON CONFLICT (email) DO UPDATE SET name = COALESCE(customers.name, EXCLUDED.name)
         RETURNING id, email, name, blocked, created_at, updated_at`,
        [mail.from, mail.fromName],
      );
      const customerId = customer.rows[0].id;
      for (let attempt = 0; attempt < 5 && requestId === null; attempt++) {
        const open = await c.query(`SELECT id FROM requests WHERE customer_id = $1 AND status <> 'closed' FOR UPDATE`, [
          customerId,
        ]);
        if (open.rows[0]) {
          requestId = open.rows[0].id;
          break;
        }
        const inserted = await c.query(
          `INSERT INTO requests (customer_id, subject, previous_request_id, created_at, updated_at, last_message_at)
           VALUES ($1, $2, $3, clock_timestamp(), clock_timestamp(), clock_timestamp())
           ON CONFLICT (customer_id) WHERE status <> 'closed' DO NOTHING RETURNING id`,
          [customerId, mail.subject, null],
        );
        if (inserted.rows[0]) {
          requestId = inserted.rows[0].id;
          created = true;
          // The SLA due dates (default targets: 240 and 2880 business minutes, always open).
          const now = Date.now();
          await c.query(`UPDATE requests SET first_response_due_at = $2, resolution_due_at = $3 WHERE id = $1`, [
            requestId,
            new Date(now + 240 * 60_000),
            new Date(now + 2880 * 60_000),
          ]);
        }
      }
    }
    const message = await c.query(APPEND_MESSAGE, [
      requestId,
      'in',
      false,
      `${mail.from} ${mail.subject} ${mail.text}`,
      'customer',
      null,
      mail.from,
      mail.fromName,
      ['support@desk.test'],
      [],
      mail.subject,
      mail.text,
      null,
      mail.messageId,
      mail.inReplyTo,
      mail.inReplyTo ? [mail.inReplyTo] : [],
    ]);
    const messageRowId = message.rows[0].id;
    if (mail.attachment) {
      await c.query(
        `INSERT INTO attachments (message_id, filename, content_type, size, sha256, content_id, content) VALUES ($1,$2,$3,$4,$5,$6,$7)`,
        [
          messageRowId,
          mail.attachment.filename,
          'application/pdf',
          mail.attachment.content.length,
          m.sha256,
          null,
          mail.attachment.content,
        ],
      );
    }
    await c.query(INSERT_EVENT, [
      requestId,
      created ? 'created' : 'message',
      'customer',
      null,
      JSON.stringify({ messageId: messageRowId, direction: 'in' }),
    ]);
    const customer = { email: mail.from, name: mail.fromName };
    const received = {
      requestId,
      messageId: messageRowId,
      from: customer,
      subject: mail.subject,
      text: mail.text.slice(0, 4000),
      attachments: mail.attachment ? [mail.attachment.filename] : [],
    };
    await c.query(ENQUEUE_WEBHOOKS, [
      created ? ['request.created', 'message.received'] : ['message.received'],
      (created ? [{ requestId, subject: mail.subject, customer }, received] : [received]).map((d) => JSON.stringify(d)),
    ]);
    if (created) {
      // ConversationService.sendAutoReply: findById (one statement since the bench's fix; TypeORM's
      // findOne with relations ran a DISTINCT id query first), rate limit, thread, append, outbox, event.
      await c.query(REQUEST_BY_ID, [requestId]);
      await c.query(
        `SELECT count(*)::int AS n FROM outbox WHERE to_address = $1 AND created_at >= $2 AND kind = 'auto_reply'`,
        [mail.from, new Date(Date.now() - 3600_000)],
      );
      await c.query(`SELECT * FROM messages WHERE request_id = $1 AND direction = $2 ORDER BY seq DESC LIMIT 1`, [
        requestId,
        'in',
      ]);
      const replyId = `md-ceiling.${n}@desk.test`;
      const reply = await c.query(APPEND_MESSAGE, [
        requestId,
        'out',
        false,
        '',
        'auto_reply',
        null,
        'support@localhost',
        'MailDesk Support',
        [mail.from],
        [],
        `[#${requestId}] We received your request: ${mail.subject}`,
        'We received your request and will answer soon.',
        null,
        replyId,
        mail.messageId,
        [mail.messageId],
      ]);
      const outbox = await c.query(
        `INSERT INTO outbox (message_id, kind, to_address, from_address, subject, headers, text, html)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
        [
          reply.rows[0].id,
          'auto_reply',
          mail.from,
          'support@localhost',
          `[#${requestId}] We received your request`,
          JSON.stringify({ 'Message-ID': `<${replyId}>`, 'Auto-Submitted': 'auto-replied' }),
          'We received your request.',
          null,
        ],
      );
      outboxId = outbox.rows[0].id;
      await c.query(INSERT_EVENT, [
        requestId,
        'auto_reply_sent',
        'system',
        null,
        JSON.stringify({ event: 'created', messageId: reply.rows[0].id }),
      ]);
    }
    await c.query(
      `UPDATE inbound_mail SET status = $2, reason = $3, request_id = $4, message_row_id = $5, processed_at = clock_timestamp() WHERE id = $1`,
      [inboundId, created ? 'created' : 'appended', null, requestId, messageRowId],
    );
    await c.query('COMMIT');
  } catch (e) {
    await c.query('ROLLBACK');
    throw e;
  }
  if (outboxId) {
    // The dispatcher marks the auto-reply sent (its claim is batched, one statement per 20 mails: left out).
    await c.query(
      `WITH o AS (UPDATE outbox SET status = 'sent', sent_at = now(), locked_until = NULL, last_error = NULL WHERE id = $1 RETURNING message_id)
       UPDATE messages m SET sent_at = now() FROM o WHERE m.id = o.message_id AND m.sent_at IS NULL`,
      [outboxId],
    );
  }
  return created;
}
