import { Readable } from 'node:stream';
import { BlobStoreUnavailableError } from '../blobs/blob-store';
import { jest } from '@jest/globals';
import { ConflictException, Logger, NotFoundException } from '@nestjs/common';
import * as crypto from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { IngestDesk } from '../../test/fakes/ingest-desk';
import { mailboxRecord, MemoryMailboxDirectory } from '../../test/fakes/mailbox-directory';
import { MemorySideThreads } from '../../test/fakes/memory-side-threads';
import { mailFrom } from '../../test/fakes/parsed-mail';
import type { BlockedPattern } from '../blocklist/blocklist.service';
import { loadConfig } from '../config/config';
import type { InboundMail } from './inbound-mail.entity';
import type { InboundMailStore, InboundOutcome, RawMail, ReplayableMail } from './inbound-mail.repository';
import { InboundMailService } from './inbound-mail.service';
import { MailParseError } from './parser/mail-parse-error';
import { parseMail } from './parser/parse-mail';
import type { ParsedMail } from './parser/parsed-mail';

/** One inbound_mail row of the in-memory table. */
interface Row extends RawMail {
  id: string;
  status: InboundMail['status'];
  reason: string | null;
  requestId: number | null;
  messageRowId: number | null;
  attempts: number;
}

/** What PostgreSQL says of a NUL byte in a text value. */
const NOT_STORABLE = 'invalid byte sequence for encoding "UTF8": 0x00';

/**
 * The inbound_mail table in memory: the claim and quarantine rules of the repository's statements
 * (a processed copy holds its key, a quarantined one is taken over), a transaction that rolls its
 * rows back when its work throws, and PostgreSQL's refusal of a NUL byte in a text column.
 */
class MemoryInboundMail implements InboundMailStore {
  rows: Row[] = [];
  private nextId = 1;
  constructor(private readonly log: string[]) {}

  async transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    const before = this.rows.map((r) => ({ ...r }));
    try {
      const result = await work({} as EntityManager);
      this.log.push('commit');
      return result;
    } catch (e) {
      this.rows = before;
      throw e;
    }
  }

  claim(mail: RawMail): Promise<string | null> {
    return this.upsert(mail, { status: 'appended', reason: null }, true);
  }

  async record(id: string, outcome: InboundOutcome): Promise<void> {
    Object.assign(
      this.rows.find((r) => r.id === id)!,
      outcome,
    );
    return Promise.resolve();
  }

  async quarantine(mail: RawMail, reason: string): Promise<boolean> {
    return (await this.upsert(mail, { status: 'quarantined', reason }, false)) !== null;
  }

  requestOf(dedupeKey: string): Promise<number | null> {
    return Promise.resolve(this.byKey(dedupeKey)?.requestId ?? null);
  }

  listQuarantined(): Promise<{ items: InboundMail[]; total: number }> {
    const items = this.rows.filter((r) => r.status === 'quarantined') as unknown as InboundMail[];
    return Promise.resolve({ items, total: items.length });
  }

  findForReplay(id: string): Promise<ReplayableMail | null> {
    const row = this.rows.find((r) => r.id === id);
    return Promise.resolve(row ? { ...row, raw: null, rawExpiredAt: null } : null);
  }

  markReplayed(id: string): Promise<void> {
    const row = this.rows.find((r) => r.id === id && r.status === 'quarantined');
    if (row) row.status = 'replayed';
    return Promise.resolve();
  }

  byKey(dedupeKey: string): Row | undefined {
    return this.rows.find((r) => r.dedupeKey === dedupeKey);
  }

  private upsert(mail: RawMail, set: Pick<Row, 'status' | 'reason'>, takeOverFields: boolean): Promise<string | null> {
    if ([mail.messageId, mail.fromAddress, mail.subject].some((v) => v?.includes('\0')))
      return Promise.reject(new Error(NOT_STORABLE));
    const row = this.byKey(mail.dedupeKey);
    if (row && row.status !== 'quarantined') return Promise.resolve(null);
    if (row) {
      Object.assign(row, set, takeOverFields ? mail : {}, { attempts: row.attempts + 1 });
      return Promise.resolve(row.id);
    }
    const id = String(this.nextId++);
    this.rows.push({ ...mail, ...set, id, requestId: null, messageRowId: null, attempts: 1 });
    return Promise.resolve(id);
  }
}

const SUPPORT = 'support@desk.test';
const config = loadConfig({ SUPPORT_ADDRESS: SUPPORT, INBOUND_MAX_BYTES: '4096' });
const sha256 = (raw: Buffer) => crypto.createHash('sha256').update(raw).digest('hex');

/** Raw RFC 5322 mail from `from` with these headers. */
function rawMail(from: string | null, headers: Record<string, string> = {}, body = 'The printer shows E42.'): Buffer {
  const lines = Object.entries({ ...(from ? { From: from } : {}), To: SUPPORT, Subject: 'Printer', ...headers });
  return Buffer.from(`${lines.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}\r\n`);
}

/** The pipeline over in-memory fakes; `parse` stands in for the parse threads (parseMail by default). */
function setup(
  parse: (raw: Buffer) => Promise<ParsedMail> = parseMail,
  mailboxes?: MemoryMailboxDirectory,
  sides?: MemorySideThreads,
) {
  const log: string[] = [];
  const store = new MemoryInboundMail(log);
  const desk = new IngestDesk();
  const blocked: string[] = [];
  const webhookEvents: string[] = [];
  const autoReplies: number[] = [];
  const counted: string[] = [];
  const blobs = new Map<string, Buffer>();
  const blobsDown = { value: false };
  const service = new InboundMailService(
    config,
    store,
    desk,
    desk,
    {
      sendAutoReply: (_tx: EntityManager, requestId: number) => {
        autoReplies.push(requestId);
        return Promise.resolve(true);
      },
    },
    {
      match: (address: string) =>
        Promise.resolve(blocked.includes(address) ? ({ pattern: address } as BlockedPattern) : null),
    },
    {
      enqueueAll: (_tx: EntityManager, events: Array<{ event: string }>) => {
        webhookEvents.push(...events.map((e) => e.event));
        return Promise.resolve();
      },
    },
    {
      // ParsePool.parseOwned's contract on the event loop: the mail or the error, never a throw.
      parseOwned: async (raw: Buffer) => {
        try {
          return { mail: await parse(raw), rawSha256: sha256(raw), raw };
        } catch (error) {
          return { error, rawSha256: sha256(raw), raw };
        }
      },
    },
    {
      // The blob store in memory: what the pipeline wrote before its transaction, by hash.
      put: (items: Array<{ bytes: Buffer; sha256?: string }>) =>
        blobsDown.value
          ? Promise.reject(new BlobStoreUnavailableError('write', new Error('connect ECONNREFUSED')))
          : Promise.resolve(
              items.map((b) => {
                const h = b.sha256 ?? sha256(b.bytes);
                blobs.set(h, b.bytes);
                return h;
              }),
            ),
      read: (h: string) => Promise.resolve(blobs.get(h)!),
      open: (h: string) => Promise.resolve({ stream: Readable.from([blobs.get(h)!]), size: blobs.get(h)!.length }),
    },
    { countIngested: (source: string, status: string) => void counted.push(`${source} ${status}`) },
    mailboxes,
    sides,
  );
  return { service, store, desk, log, blocked, webhookEvents, autoReplies, counted, blobs, blobsDown };
}

// The pipeline logs each quarantined mail; the tests say what they expect of it.
beforeAll(() => Logger.overrideLogger(false));

describe('ingest: what becomes of a mail', () => {
  it('opens a request for a new customer, answers it after commit and tells the webhooks', async () => {
    const t = setup();
    const result = await t.service.ingest(
      rawMail('Alice <alice@example.com>', { 'Message-ID': '<a1@example.com>' }),
      'webhook',
    );
    expect(result).toEqual({ status: 'created', requestId: 1, messageId: 'a1@example.com', reason: null });
    expect(t.store.byKey('a1@example.com')).toMatchObject({ status: 'created', requestId: 1, messageRowId: 1 });
    expect(t.desk.events).toEqual([expect.objectContaining({ requestId: 1, type: 'created', actor: 'customer' })]);
    expect(t.webhookEvents).toEqual(['request.created', 'message.received']);
    expect(t.autoReplies).toEqual([1]);
    expect(t.log).toEqual(['commit']);
    expect(t.counted).toEqual(['webhook created']);
  });

  it('answers a second copy as a duplicate on the request of the first, storing nothing', async () => {
    const t = setup();
    const raw = rawMail('alice@example.com', { 'Message-ID': '<a1@example.com>' });
    await t.service.ingest(raw, 'imap');
    await expect(t.service.ingest(raw, 'imap')).resolves.toEqual({
      status: 'duplicate',
      requestId: 1,
      messageId: 'a1@example.com',
      reason: 'already received',
    });
    expect(t.desk.messages).toHaveLength(1);
    expect(t.store.rows).toHaveLength(1);
    expect(t.autoReplies).toEqual([1]);
  });

  it('appends a reply to the request it refers to, without an auto-reply', async () => {
    const t = setup();
    const request = t.desk.request('alice@example.com', { sentMessageId: 'md-1@desk.test' });
    const raw = rawMail('alice@example.com', { 'Message-ID': '<a2@example.com>', 'In-Reply-To': '<md-1@desk.test>' });
    await expect(t.service.ingest(raw, 'webhook')).resolves.toMatchObject({
      status: 'appended',
      requestId: request.id,
    });
    expect(t.webhookEvents).toEqual(['message.received']);
    expect(t.log).toEqual(['commit']);
  });

  it('files automatic mail on a request with its reason, and never answers it', async () => {
    const t = setup();
    const raw = rawMail('alice@example.com', { 'Auto-Submitted': 'auto-replied' });
    await expect(t.service.ingest(raw, 'imap')).resolves.toMatchObject({
      status: 'created',
      reason: 'automatic: Auto-Submitted: auto-replied',
    });
    expect(t.desk.events[0].data).toMatchObject({ automatic: 'automatic: Auto-Submitted: auto-replied' });
    expect(t.autoReplies).toEqual([]);
    expect(t.log).toEqual(['commit']);
  });

  it('never answers history (CLI imports)', async () => {
    const t = setup();
    await expect(t.service.ingest(rawMail('alice@example.com'), 'cli', { history: true })).resolves.toMatchObject({
      status: 'created',
    });
    expect(t.autoReplies).toEqual([]);
  });

  it('keeps own mail and mail of a blocked sender as ignored, on no request', async () => {
    const t = setup();
    t.blocked.push('spam@example.com');
    await expect(t.service.ingest(rawMail(SUPPORT, { 'Message-ID': '<o1@x.test>' }), 'imap')).resolves.toEqual({
      status: 'ignored',
      requestId: null,
      messageId: 'o1@x.test',
      reason: 'own mail: sent from the support address',
    });
    await expect(t.service.ingest(rawMail('spam@example.com'), 'imap')).resolves.toMatchObject({
      status: 'ignored',
      reason: 'sender is blocked: spam@example.com',
    });
    expect(t.store.rows.map((r) => r.status)).toEqual(['ignored', 'ignored']);
    expect(t.desk.requests).toEqual([]);
  });

  it("puts a bounce of the desk's mail on its request as a system message, telling no one", async () => {
    const t = setup();
    const request = t.desk.request('alice@example.com', { sentMessageId: 'md-7@desk.test' });
    const raw = rawMail('MAILER-DAEMON@mx.test', { 'Message-ID': '<dsn1@mx.test>' }, 'Message-ID: <md-7@desk.test>');
    await expect(t.service.ingest(raw, 'imap')).resolves.toEqual({
      status: 'appended',
      requestId: request.id,
      messageId: 'dsn1@mx.test',
      reason: 'bounce: sent by mailer-daemon@mx.test',
    });
    expect(t.desk.messages.at(-1)).toMatchObject({ kind: 'system', direction: 'in' });
    expect(t.desk.events).toEqual([expect.objectContaining({ type: 'bounce', actor: 'system' })]);
    expect(t.webhookEvents).toEqual([]);
  });

  it('keys a mail without a Message-ID by the hash of its bytes', async () => {
    const t = setup();
    const raw = rawMail('alice@example.com');
    const hash = sha256(raw);
    await expect(t.service.ingest(raw, 'webhook')).resolves.toMatchObject({
      status: 'created',
      messageId: `${hash.slice(0, 32)}@no-message-id.invalid`,
    });
    expect(t.store.byKey(`sha256:${hash}`)).toMatchObject({ messageId: null, status: 'created' });
  });

  it('takes the envelope sender when no header has an address', async () => {
    const t = setup();
    const result = await t.service.ingest(rawMail(null), 'cli', { envelopeFrom: 'bob@example.com', history: true });
    expect(result).toMatchObject({ status: 'created' });
    expect(t.desk.customers.map((c) => c.email)).toEqual(['bob@example.com']);
  });
});

describe('ingest: which quarantine reason', () => {
  it('quarantines mail over INBOUND_MAX_BYTES under its hash, unparsed', async () => {
    const parse = jest.fn(parseMail);
    const t = setup(parse);
    const raw = rawMail('alice@example.com', {}, 'x'.repeat(5000));
    await expect(t.service.ingest(raw, 'imap')).resolves.toEqual({
      status: 'quarantined',
      requestId: null,
      messageId: null,
      reason: `too large: ${raw.length} bytes (limit 4096)`,
    });
    expect(t.store.byKey(`sha256:${sha256(raw)}`)).toMatchObject({ status: 'quarantined', fromAddress: null });
    expect(parse).not.toHaveBeenCalled();
    expect(t.counted).toEqual(['imap quarantined']);
  });

  it("quarantines an unparsable mail with the parser's reason", async () => {
    const t = setup(() =>
      Promise.reject(new MailParseError('too-many-headers', 'too many headers: 1001 (limit 1000)')),
    );
    await expect(t.service.ingest(rawMail('alice@example.com'), 'webhook')).resolves.toMatchObject({
      status: 'quarantined',
      reason: 'too many headers: 1001 (limit 1000)',
    });
    const failed = setup(() => Promise.reject(new Error('worker exited')));
    await expect(failed.service.ingest(rawMail('alice@example.com'), 'webhook')).resolves.toMatchObject({
      status: 'quarantined',
      reason: 'parser failed: worker exited',
    });
  });

  it('quarantines mail that would open a request without a sender address, under its Message-ID', async () => {
    const t = setup();
    const raw = rawMail(null, { 'Message-ID': '<n1@example.com>' });
    await expect(t.service.ingest(raw, 'webhook')).resolves.toEqual({
      status: 'quarantined',
      requestId: null,
      messageId: 'n1@example.com',
      reason: 'no sender address in From',
    });
    expect(t.store.byKey('n1@example.com')).toMatchObject({ status: 'quarantined' });
  });

  it('quarantines a mail whose processing fails, rolling its claim back', async () => {
    const t = setup();
    t.desk.openRequestFor = () => Promise.reject(new Error('boom'));
    await expect(
      t.service.ingest(rawMail('alice@example.com', { 'Message-ID': '<p1@example.com>' }), 'imap'),
    ).resolves.toMatchObject({ status: 'quarantined', messageId: 'p1@example.com', reason: 'processing failed: boom' });
    expect(t.store.rows).toEqual([
      expect.objectContaining({ dedupeKey: 'p1@example.com', status: 'quarantined', attempts: 1 }),
    ]);
    expect(t.log).toEqual([]);
  });

  it('keeps a mail whose header fields cannot be stored under its hash, without them', async () => {
    const mail = mailFrom('alice@example.com', { messageId: 'nul\0@example.com' });
    const t = setup(() => Promise.resolve(mail));
    const raw = rawMail('alice@example.com');
    await expect(t.service.ingest(raw, 'webhook')).resolves.toEqual({
      status: 'quarantined',
      requestId: null,
      messageId: null,
      reason: `processing failed: ${NOT_STORABLE}; header fields not storable: ${NOT_STORABLE}`,
    });
    expect(t.store.rows).toEqual([
      expect.objectContaining({ dedupeKey: `sha256:${sha256(raw)}`, messageId: null, fromAddress: null }),
    ]);
  });

  it('throws, storing nothing, when the database is unreachable (the caller retries)', async () => {
    const t = setup();
    t.desk.upsertCustomer = () =>
      Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    await expect(t.service.ingest(rawMail('alice@example.com'), 'imap')).rejects.toThrow('ECONNREFUSED');
    expect(t.store.rows).toEqual([]);
    expect(t.counted).toEqual([]);
  });

  it('writes the raw mail and its files to the blob store, each once, and names them on the rows', async () => {
    const t = setup();
    const raw = rawMail('alice@example.com', { 'Message-ID': '<blob@example.com>' });
    await t.service.ingest(raw, 'webhook');
    expect(t.blobs.get(sha256(raw))).toEqual(raw);
    expect(t.store.byKey('blob@example.com')).toMatchObject({ rawSha256: sha256(raw), size: raw.length });
  });

  it('throws, storing and quarantining nothing, while the blob store is down (the caller retries)', async () => {
    const t = setup();
    t.blobsDown.value = true;
    await expect(t.service.ingest(rawMail('alice@example.com'), 'webhook')).rejects.toBeInstanceOf(
      BlobStoreUnavailableError,
    );
    // An unparsable mail too: it is not quarantined without its bytes.
    await expect(t.service.ingest(Buffer.alloc(0), 'webhook')).rejects.toBeInstanceOf(BlobStoreUnavailableError);
    expect(t.store.rows).toEqual([]);
    expect(t.log).toEqual([]);
    t.blobsDown.value = false;
    await expect(t.service.ingest(rawMail('alice@example.com'), 'webhook')).resolves.toMatchObject({
      status: 'created',
    });
  });

  it('counts a second broken copy on the quarantined row, and takes the row over once the mail goes through', async () => {
    const t = setup();
    const raw = rawMail(null, { 'Message-ID': '<q1@example.com>' });
    await t.service.ingest(raw, 'imap');
    await t.service.ingest(raw, 'imap');
    expect(t.store.byKey('q1@example.com')).toMatchObject({ status: 'quarantined', attempts: 2 });
    await expect(t.service.ingest(raw, 'cli', { envelopeFrom: 'bob@example.com' })).resolves.toMatchObject({
      status: 'created',
    });
    expect(t.store.rows).toEqual([
      expect.objectContaining({ dedupeKey: 'q1@example.com', status: 'created', source: 'cli', attempts: 3 }),
    ]);
    await expect(t.service.ingest(raw, 'imap')).resolves.toMatchObject({ status: 'duplicate', requestId: 1 });
  });
});

describe('replay of quarantined mail', () => {
  it('runs it through the pipeline again and marks the old row replayed when stored under another key', async () => {
    let parse: (raw: Buffer) => Promise<ParsedMail> = () => Promise.reject(new MailParseError('malformed', 'bad'));
    const t = setup((raw) => parse(raw));
    await t.service.ingest(rawMail('alice@example.com', { 'Message-ID': '<r1@example.com>' }), 'webhook');
    const [row] = t.store.rows;
    parse = parseMail;
    await expect(t.service.replay(row.id)).resolves.toMatchObject({ status: 'created', messageId: 'r1@example.com' });
    expect(t.store.rows.map((r) => r.status)).toEqual(['replayed', 'created']);
    await expect(t.service.replay(row.id)).rejects.toBeInstanceOf(ConflictException);
    await expect(t.service.replay('99')).rejects.toBeInstanceOf(NotFoundException);
  });
});

describe('ingest: the mailbox a mail belongs to', () => {
  /** The default mailbox (support@, group 7) and billing@ (alias invoices@, group 8). */
  const mailboxes = () =>
    new MemoryMailboxDirectory([
      mailboxRecord({ id: 1, address: SUPPORT, isDefault: true, groupId: 7 }),
      mailboxRecord({ id: 2, address: 'billing@desk.test', aliases: ['invoices@desk.test'], groupId: 8 }),
    ]);

  it("opens a request in the mailbox of the address it was sent to, in the mailbox's group", async () => {
    const t = setup(parseMail, mailboxes());
    const raw = rawMail('alice@example.com', { To: 'Invoices <invoices@desk.test>', 'Message-ID': '<b1@example.com>' });
    await expect(t.service.ingest(raw, 'webhook')).resolves.toMatchObject({ status: 'created', requestId: 1 });
    expect(t.desk.requests[0]).toMatchObject({ mailboxId: 2, groupId: 8 });
    expect(t.autoReplies).toEqual([1]);
  });

  it("matches the customer's open request within the mailbox only; a reply to a billing mail stays in billing", async () => {
    const t = setup(parseMail, mailboxes());
    const billing = t.desk.request('alice@example.com', { mailboxId: 2, sentMessageId: 'md-9@desk.test' });
    const toSupport = rawMail('alice@example.com', { 'Message-ID': '<s1@example.com>' });
    await expect(t.service.ingest(toSupport, 'webhook')).resolves.toMatchObject({ status: 'created', requestId: 2 });
    expect(t.desk.requests[1]).toMatchObject({ mailboxId: null, groupId: 7 });
    const reply = rawMail('alice@example.com', { 'Message-ID': '<s2@example.com>', 'In-Reply-To': '<md-9@desk.test>' });
    await expect(t.service.ingest(reply, 'webhook')).resolves.toMatchObject({
      status: 'appended',
      requestId: billing.id,
    });
  });

  it('takes the IMAP account the poller names over the recipients', async () => {
    const t = setup(parseMail, mailboxes());
    await t.service.ingest(rawMail('alice@example.com'), 'imap', { mailboxId: 2 });
    expect(t.desk.requests[0]).toMatchObject({ mailboxId: 2, groupId: 8 });
  });

  it('ignores mail one of our mailboxes sent to another: no request, no answer', async () => {
    const t = setup(parseMail, mailboxes());
    const raw = rawMail('Billing <billing@desk.test>', {
      'Auto-Submitted': 'auto-replied',
      'X-Loop': 'billing@desk.test',
    });
    await expect(t.service.ingest(raw, 'webhook')).resolves.toMatchObject({
      status: 'ignored',
      requestId: null,
      reason: 'own mail: sent from our mailbox billing@desk.test',
    });
    expect(t.desk.requests).toHaveLength(0);
    expect(t.autoReplies).toEqual([]);
  });
});

describe('ingest: a third party’s answer in a side thread', () => {
  it('is stored as a side message with a side_message event and its own webhook event, never answered', async () => {
    const sides = new MemorySideThreads();
    const t = setup(parseMail, undefined, sides);
    const request = t.desk.request('alice@example.com', { status: 'closed', sentMessageId: 'md-1@desk.test' });
    sides.add({
      requestId: request.id,
      token: 'abcdefgh23456723',
      addresses: ['vendor@x.test'],
      messageIds: ['md-f@desk.test'],
    });
    const raw = rawMail('Vendor <vendor@x.test>', { 'Message-ID': '<v1@x.test>', 'In-Reply-To': '<md-f@desk.test>' });
    await expect(t.service.ingest(raw, 'webhook')).resolves.toMatchObject({
      status: 'appended',
      requestId: request.id,
    });
    expect(t.desk.messages.find((m) => m.messageId === 'v1@x.test')).toMatchObject({ kind: 'side', direction: 'in' });
    expect(t.desk.events).toEqual([
      expect.objectContaining({
        requestId: request.id,
        type: 'side_message',
        actor: 'system',
        data: expect.objectContaining({ sideThreadId: 1, from: 'vendor@x.test' }),
      }),
    ]);
    expect(t.webhookEvents).toEqual(['message.side_received']);
    expect(t.autoReplies).toEqual([]);
  });
});
