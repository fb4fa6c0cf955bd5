import * as crypto from 'node:crypto';
import * as path from 'node:path';
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
  const outbox = statementsOf(dist, 'outbound-mail/outbox.repository.js', ['insert', 'countAutoRepliesSince']);
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

/**
 * The SQL-alone ceiling of one mail: the statements of MailDesk's ingest for one plain customer
 * email (ingestStatements), in the same order and the same round trips, with no HTTP and no MIME
 * parsing. A new request also gets its creation auto-reply (ConversationService.sendAutoReply)
 * and the dispatcher's `mark sent`. The returned function resolves with whether a request was
 * created.
 */
export function ceilingIngest(appDir: string): (c: PoolClient, m: CeilingMail, n: number) => Promise<boolean> {
  const sql = ingestStatements(appDir);
  return async (c, m, n) => {
    const mail = m.mail;
    // The filter step's blocklist check, before the transaction (BlocklistService.match).
    await c.query(sql.blocklist.longestMatch, [sql.candidatePatterns(mail.from)]);
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
        mail.raw,
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
          const inserted = await c.query(sql.requests.insertOpen, [customerId, mail.subject, null, null, null, 'normal']);
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
          mail.attachment.content,
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
          'support@localhost',
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
