import * as crypto from 'node:crypto';
import * as path from 'node:path';
import type { PoolClient, QueryConfig } from 'pg';
import type { BenchMail } from './emails';

/** A mail as the SQL ceiling needs it: everything the app would parse, precomputed. */
export interface CeilingMail {
  mail: BenchMail;
  /** The raw mail's blob (the app hashes it on the parse thread and writes it to the blob store). */
  rawSha256: string;
  sha256: string | null;
}

/** A statement's name as the app's prepared.ts gives it (`md_` and 24 hex digits of its SHA-1). */
const preparedName = (text: string) => `md_${crypto.createHash('sha1').update(text).digest('hex').slice(0, 24)}`;

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

export function toCeilingMail(mail: BenchMail): CeilingMail {
  return {
    mail,
    rawSha256: sha256(mail.raw),
    sha256: mail.attachment ? sha256(mail.attachment.content) : null,
  };
}

/** Where the time of a ceiling's statements went: per statement name, its count and its milliseconds. */
export type StatementTimes = Map<string, { n: number; ms: number }>;

/**
 * A client whose queries are timed under a name (client-side: the round trip and the statement,
 * waits for locks and for the CPU included) when `times` is given.
 */
function timed(c: PoolClient, times: StatementTimes | undefined) {
  return async (name: string, query: string | QueryConfig, params?: unknown[]) => {
    const run = () => (typeof query === 'string' ? c.query(query, params) : c.query(query));
    if (!times) return run();
    const t0 = performance.now();
    try {
      return await run();
    } finally {
      const t = times.get(name) ?? { n: 0, ms: 0 };
      t.n++;
      t.ms += performance.now() - t0;
      times.set(name, t);
    }
  };
}

/** The statement times as lines of a table, largest first: name, count, ms per mail, share. */
export function breakdown(times: StatementTimes, mails: number): string[] {
  const total = [...times.values()].reduce((s, t) => s + t.ms, 0);
  return [...times.entries()]
    .sort((a, b) => b[1].ms - a[1].ms)
    .map(
      ([name, t]) =>
        `${name.padEnd(28)} ${String(t.n).padStart(6)}  ${(t.ms / mails).toFixed(2).padStart(6)} ms/mail  ${((100 * t.ms) / total).toFixed(1).padStart(5)}%`,
    );
}

/** The `SQL` export of one of the app's repositories, checked for the statements the ceiling runs. */
function statementsOf<N extends string>(dist: string, file: string, names: readonly N[]): Record<N, string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SQL } = require(path.join(dist, file)) as { SQL?: Record<string, unknown> };
  for (const name of names) {
    if (typeof SQL?.[name] !== 'string')
      throw new Error(`${file}: no SQL.${name}; the app's ingest changed, follow it in bench/ceiling-sql.ts`);
  }
  return SQL as Record<N, string>;
}

/**
 * The statements MailDesk's ingest transaction issues for one plain customer email, taken from
 * the repositories of the app snapshot `appDir` (the dist/ the bench measures), so the ceiling
 * runs exactly the app's SQL: src/inbound-mail/inbound-mail.service.ts names the steps (filter,
 * claim, thread, store, notify, record), the repositories hold the statements.
 */
function ingestStatements(appDir: string) {
  const dist = path.join(appDir, 'dist/src');
  const outbox = statementsOf(dist, 'outbound-mail/outbox.repository.js', [
    'insert',
    'countAutoRepliesSince',
    'defaultSender',
  ]);
  // The dispatcher's `mark sent`: the outbox queue's `done` as OutboxRepository fills it from the
  // lease queue's templates (its constructor only keeps the DataSource, which is not used here).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { OutboxRepository } = require(path.join(dist, 'outbound-mail/outbox.repository.js'));
  const markSent: string = new OutboxRepository(null).leases.statements.done;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { candidatePatterns } = require(path.join(dist, 'blocklist/blocklist.service.js')) as {
    candidatePatterns: (address: string) => string[];
  };
  return {
    candidatePatterns,
    blobs: statementsOf(dist, 'blobs/blobs.repository.js', ['touch']),
    blocklist: statementsOf(dist, 'blocklist/blocklist.repository.js', ['longestMatch']),
    inboundMail: statementsOf(dist, 'inbound-mail/inbound-mail.repository.js', ['claim', 'record']),
    messages: statementsOf(dist, 'messages/messages.repository.js', [
      'requestIdsForMessageIds',
      'append',
      'insertAttachment',
      'latestInbound',
    ]),
    requests: statementsOf(dist, 'requests/requests.repository.js', [
      'findForParticipant',
      'upsertCustomer',
      'findOpenForCustomerInMailbox',
      'insertOpen',
      'writeDueDates',
      'insertEvent',
      'findById',
    ]),
    webhooks: statementsOf(dist, 'webhooks/webhooks.repository.js', ['insertDeliveries']),
    outbox: { ...outbox, markSent },
  };
}

/** The name of a statement of `sql` (`group.key`), for the breakdown. */
function nameOf(sql: ReturnType<typeof ingestStatements>, text: string): string {
  for (const [group, statements] of Object.entries(sql)) {
    if (typeof statements !== 'object') continue;
    for (const [key, value] of Object.entries(statements)) if (value === text) return `${group}.${key}`;
  }
  return text;
}

/**
 * The SQL-alone ceiling of one mail: the statements of MailDesk's ingest for one plain customer
 * email (ingestStatements), in the same order and the same round trips, with no HTTP and no MIME
 * parsing. A new request also gets its creation auto-reply (ConversationService.sendAutoReply)
 * and the dispatcher's `mark sent`. The returned function resolves with whether a request was
 * created.
 */
export function ceilingIngest(
  appDir: string,
  times?: StatementTimes,
): (c: PoolClient, m: CeilingMail, n: number) => Promise<boolean> {
  const sql = ingestStatements(appDir);
  return async (pc, m, n) => {
    const mail = m.mail;
    const q = timed(pc, times);
    // As the app sends them (nameTransactionStatements): in the transaction, each statement with
    // parameters a named prepared statement; before it, unnamed.
    let inTransaction = false;
    const c = {
      query: (text: string, params?: unknown[]) => {
        if (text === 'START TRANSACTION') inTransaction = true;
        if (text === 'COMMIT' || text === 'ROLLBACK') inTransaction = false;
        const named = inTransaction && params?.length ? preparedName(text) : undefined;
        return named ? q(nameOf(sql, text), { name: named, text, values: params }) : q(nameOf(sql, text), text, params);
      },
    };
    // The filter step's blocklist check, before the transaction (BlocklistService.match).
    await c.query(sql.blocklist.longestMatch, [sql.candidatePatterns(mail.from)]);
    // The blob store's rows of the raw mail and its file (BlobsService.put), before the transaction.
    const blobs = [m.rawSha256, ...(m.sha256 ? [m.sha256] : [])];
    const sizes = [mail.raw.length, ...(mail.attachment ? [mail.attachment.content.length] : [])];
    await c.query(sql.blobs.touch, [blobs, sizes]);
    await c.query('START TRANSACTION');
    let created = false;
    let outboxId: string | null = null;
    try {
      // claim
      const claimed = await c.query(sql.inboundMail.claim, [
        'webhook',
        mail.messageId,
        mail.messageId,
        mail.from,
        mail.subject,
        mail.raw.length,
        m.rawSha256,
      ]);
      const inboundId = claimed.rows[0].id;
      // thread (resolveThread, then RequestsService.upsertCustomer and openRequestFor)
      let requestId: number | null = null;
      if (mail.inReplyTo) {
        const refs = await c.query(sql.messages.requestIdsForMessageIds, [[mail.inReplyTo, mail.inReplyTo]]);
        for (const row of refs.rows) {
          const found = await c.query(sql.requests.findForParticipant, [row.request_id, mail.from]);
          if (found.rows[0] && found.rows[0].status !== 'closed') {
            requestId = found.rows[0].id;
            break;
          }
        }
      }
      if (requestId === null) {
        const customer = await c.query(sql.requests.upsertCustomer, [mail.from, mail.fromName, null]);
        const customerId = customer.rows[0].id;
        for (let attempt = 0; attempt < 5 && requestId === null; attempt++) {
          const open = await c.query(sql.requests.findOpenForCustomerInMailbox, [customerId, null]);
          if (open.rows[0]) {
            requestId = open.rows[0].id;
            break;
          }
          const inserted = await c.query(sql.requests.insertOpen, [
            customerId,
            mail.subject,
            null,
            null,
            null,
            'normal',
          ]);
          if (inserted.rows[0]) {
            requestId = inserted.rows[0].id;
            created = true;
            // The SLA due dates (default targets: 240 and 2880 business minutes, always open).
            const now = Date.now();
            await c.query(sql.requests.writeDueDates, [
              requestId,
              new Date(now + 240 * 60_000),
              new Date(now + 2880 * 60_000),
            ]);
          }
        }
      }
      // store (MessagesService.append, then the request event)
      const message = await c.query(sql.messages.append, [
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
        'from',
        [],
        mail.text,
        null,
        null,
      ]);
      const messageRowId = message.rows[0].id;
      if (mail.attachment) {
        await c.query(sql.messages.insertAttachment, [
          messageRowId,
          mail.attachment.filename,
          'application/pdf',
          mail.attachment.content.length,
          m.sha256,
          null,
        ]);
      }
      await c.query(sql.requests.insertEvent, [
        requestId,
        created ? 'created' : 'message',
        'customer',
        null,
        JSON.stringify({ messageId: messageRowId, direction: 'in' }),
      ]);
      // notify: the webhook events (no webhook registered in the bench: inserts nothing, as in the app)
      const customer = { email: mail.from, name: mail.fromName };
      const received = {
        requestId,
        messageId: messageRowId,
        from: customer,
        subject: mail.subject,
        text: mail.text.slice(0, 4000),
        attachments: mail.attachment ? [mail.attachment.filename] : [],
      };
      await c.query(sql.webhooks.insertDeliveries, [
        created ? ['request.created', 'message.received'] : ['message.received'],
        (created ? [{ requestId, subject: mail.subject, customer }, received] : [received]).map((d) =>
          JSON.stringify(d),
        ),
      ]);
      if (created) {
        // notify: the creation auto-reply (ConversationService.sendAutoReply): the request, the
        // rate limit, the thread, the message, the outbox row, the event.
        await c.query(sql.requests.findById, [requestId]);
        await c.query(sql.outbox.defaultSender);
        await c.query(sql.outbox.countAutoRepliesSince, [mail.from, new Date(Date.now() - 3600_000)]);
        await c.query(sql.messages.latestInbound, [requestId]);
        const replyId = `md-ceiling.${n}@desk.test`;
        const reply = await c.query(sql.messages.append, [
          requestId,
          'out',
          false,
          '',
          'auto_reply',
          null,
          'support@desk.test',
          'MailDesk Support',
          [mail.from],
          [],
          `[#${requestId}] We received your request: ${mail.subject}`,
          'We received your request and will answer soon.',
          null,
          replyId,
          mail.messageId,
          [mail.messageId],
          null,
          [],
          null,
          null,
          null,
        ]);
        const outbox = await c.query(sql.outbox.insert, [
          reply.rows[0].id,
          'auto_reply',
          mail.from,
          'support@desk.test',
          `[#${requestId}] We received your request`,
          JSON.stringify({ 'Message-ID': `<${replyId}>`, 'Auto-Submitted': 'auto-replied' }),
          'We received your request.',
          null,
          null,
          [],
          [],
          [],
        ]);
        outboxId = outbox.rows[0].id;
        await c.query(sql.requests.insertEvent, [
          requestId,
          'auto_reply_sent',
          'system',
          null,
          JSON.stringify({ event: 'created', messageId: reply.rows[0].id }),
        ]);
      }
      // record: the outcome on the claimed row, the transaction's last statement
      await c.query(sql.inboundMail.record, [
        inboundId,
        created ? 'created' : 'appended',
        null,
        requestId,
        messageRowId,
      ]);
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK');
      throw e;
    }
    if (outboxId) {
      // The dispatcher marks the auto-reply sent (its claim is batched, one statement per 20 mails: left out).
      await c.query(sql.outbox.markSent, [outboxId]);
    }
    return created;
  };
}

/**
 * The floor's tables: the least a desk must keep of an email (the raw mail's reference, the
 * customer, the one open request per customer, the message, the auto-reply's outbox row), each
 * with its primary key and the one unique index its find-or-create needs; nothing else.
 */
export const FLOOR_SCHEMA = `
CREATE TABLE floor_raw (id bigserial PRIMARY KEY, dedupe_key text NOT NULL UNIQUE, raw_sha256 text NOT NULL,
  size int NOT NULL, received_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE floor_customers (id serial PRIMARY KEY, email text NOT NULL UNIQUE, name text);
CREATE TABLE floor_requests (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES floor_customers,
  subject text NOT NULL, status text NOT NULL DEFAULT 'open', created_at timestamptz NOT NULL DEFAULT now());
CREATE UNIQUE INDEX floor_requests_open ON floor_requests (customer_id) WHERE status <> 'closed';
CREATE TABLE floor_messages (id bigserial PRIMARY KEY, request_id int NOT NULL REFERENCES floor_requests,
  direction text NOT NULL, message_id text NOT NULL, subject text NOT NULL, text text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE floor_outbox (id bigserial PRIMARY KEY, message_id bigint NOT NULL REFERENCES floor_messages,
  to_address text NOT NULL, subject text NOT NULL, text text NOT NULL, status text NOT NULL DEFAULT 'queued',
  created_at timestamptz NOT NULL DEFAULT now());`;

/**
 * The floor of one mail (issue 23): the minimal per-email transaction, one per email, in the
 * statements a pgbench script of it would send: store the raw mail's reference, find or create the
 * customer and their open request, append the message, and for a new request queue its one
 * auto-reply (the reply's message and its outbox row). No blocklist, events, webhooks, SLA dates,
 * search vector or participants. Resolves with whether a request was created.
 */
export function floorIngest(): (c: PoolClient, m: CeilingMail, n: number) => Promise<boolean> {
  return async (c, m, n) => {
    const mail = m.mail;
    await c.query('BEGIN');
    try {
      await c.query('INSERT INTO floor_raw (dedupe_key, raw_sha256, size) VALUES ($1, $2, $3)', [
        mail.messageId,
        m.rawSha256,
        mail.raw.length,
      ]);
      const customer = await c.query(
        `INSERT INTO floor_customers (email, name) VALUES ($1, $2)
         ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
        [mail.from, mail.fromName],
      );
      const customerId = customer.rows[0].id;
      let created = false;
      let open = await c.query(
        `SELECT id FROM floor_requests WHERE customer_id = $1 AND status <> 'closed' FOR UPDATE`,
        [customerId],
      );
      if (!open.rows[0]) {
        open = await c.query(
          `INSERT INTO floor_requests (customer_id, subject) VALUES ($1, $2)
           ON CONFLICT (customer_id) WHERE status <> 'closed' DO NOTHING RETURNING id`,
          [customerId, mail.subject],
        );
        created = open.rows.length > 0;
        if (!created)
          open = await c.query(
            `SELECT id FROM floor_requests WHERE customer_id = $1 AND status <> 'closed' FOR UPDATE`,
            [customerId],
          );
      }
      const requestId = open.rows[0].id;
      await c.query(
        `INSERT INTO floor_messages (request_id, direction, message_id, subject, text) VALUES ($1, 'in', $2, $3, $4)`,
        [requestId, mail.messageId, mail.subject, mail.text],
      );
      if (created) {
        const reply = await c.query(
          `INSERT INTO floor_messages (request_id, direction, message_id, subject, text) VALUES ($1, 'out', $2, $3, $4)
           RETURNING id`,
          [
            requestId,
            `md-floor.${n}@desk.test`,
            `[#${requestId}] We received your request`,
            'We received your request.',
          ],
        );
        await c.query(`INSERT INTO floor_outbox (message_id, to_address, subject, text) VALUES ($1, $2, $3, $4)`, [
          reply.rows[0].id,
          mail.from,
          `[#${requestId}] We received your request`,
          'We received your request.',
        ]);
      }
      await c.query('COMMIT');
      return created;
    } catch (e) {
      await c.query('ROLLBACK');
      throw e;
    }
  };
}
