import { Readable } from 'node:stream';
import { ConflictException, Inject, Injectable, Logger, NotFoundException, Optional } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { BlobsService } from '../blobs/blobs.service';
import { BlocklistService } from '../blocklist/blocklist.service';
import { ByteBudget } from '../common/byte-budget';
import { sha256Hex } from '../common/sha256';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { isStorageUnavailable } from '../database/database-errors';
import type { MailboxDirectory } from '../mailboxes/mailbox';
import { MailboxDirectoryService } from '../mailboxes/mailbox-directory.service';
import { ConversationService } from '../messages/conversation.service';
import { MessagesService, type NewMessage } from '../messages/messages.service';
import { SideThreadsService } from '../messages/side-threads.service';
import { MetricsService } from '../metrics/metrics.service';
import { ParticipantsService } from '../requests/participants.service';
import { RequestsService } from '../requests/requests.service';
import { WEBHOOK_TEXT_LIMIT } from '../webhooks/webhook-events';
import { WebhooksService } from '../webhooks/webhooks.service';
import { type AdmitDecision, type FilterDecision, filterMail, type SenderBlocklist } from './filters';
import { InboundMail, InboundSource } from './inbound-mail.entity';
import {
  InboundMailRepository,
  type InboundMailStore,
  type InboundOutcome,
  type RawMail,
} from './inbound-mail.repository';
import { IngestResult } from './ingest-result';
import { withEnvelopeSender } from './parser/addresses';
import { hashKey, type MailKeys, mailKeys } from './parser/message-ids';
import { parseFailureReason } from './parser/parse-failure-reason';
import { ParsePool } from './parser/parse-pool';
import { ParsedMail } from './parser/parsed-mail';
import { DEFAULT_ROUTE, type MailRoute, routeMail } from './routing/mailbox-route';
import {
  type RequestThread,
  requestSubject,
  type Thread,
  type ThreadMessages,
  threadMail,
  type ThreadRequests,
} from './threading/thread-resolver';
import type { SideThread, ThreadSides } from './threading/side-thread';

/** An attachment's content once it is in the blob store. */
const EMPTY = Buffer.alloc(0);

/** How one email is ingested. */
export interface IngestOptions {
  /** Old mail imported as history (CLI): stored as usual, never answered with an auto-reply. */
  history?: boolean;
  /**
   * The envelope sender (the mbox `From ` line, SMTP MAIL FROM): the sender of last resort when no
   * header has an address (`senderSource: 'envelope'`).
   */
  envelopeFrom?: string | null;
  /** The mailbox whose IMAP account the mail was read from (the poller): the mail belongs to it. */
  mailboxId?: number | null;
  /**
   * The envelope's recipients (SMTP RCPT TO, a provider's `to` field): asked first when the mail is
   * routed by its recipients (routing/mailbox-route.ts).
   */
  envelopeTo?: readonly string[] | null;
  /**
   * The caller hands `raw` over and will not read it again: a large one is moved to its parse
   * thread instead of copied (ParsePool.parseOwned), which leaves the caller's Buffer empty.
   */
  handOver?: boolean;
}

/** What the pipeline asks of the requests (RequestsService; an in-memory fake in unit tests). */
export type IngestRequests = ThreadRequests & Pick<RequestsService, 'addEvent'>;

/** What the pipeline asks of the messages (MessagesService; an in-memory fake in unit tests). */
export type IngestMessages = ThreadMessages & Pick<MessagesService, 'append'>;

/** The parse step's outcome. */
type Parsed =
  | { kind: 'parsed'; mail: ParsedMail; keys: MailKeys; rawSha256: string; raw: Buffer }
  /** Too large or unreadable: quarantined raw under the hash of its bytes. */
  | { kind: 'unparsable'; hashKey: string; rawSha256: string; reason: string; raw: Buffer };

/** The claim step's outcome. */
type Claim = { kind: 'claimed'; inboundId: string } | { kind: 'duplicate' };

/** What the ingest transaction came to. */
type Committed =
  /** A processed copy holds the mail's key: nothing was written. */
  | { kind: 'duplicate' }
  /** Filed and recorded. */
  | { kind: 'filed'; outcome: InboundOutcome };

/**
 * The one inbound pipeline for the webhook, the IMAP poller and the CLI, in named steps, each
 * with one outcome:
 *
 *   parse -> filter -> route -> claim -> thread -> store -> notify
 *
 * route picks the mailbox (and so the group) the mail belongs to, from the cached directory,
 * before the transaction; claim to notify are one transaction. Nothing is dropped: every raw email is kept in
 * inbound_mail, unprocessable ones as `quarantined` with the reason; a duplicate, an ignored
 * mail and a quarantined one are results like the others. Throws only when the database is
 * unreachable (the caller retries later).
 */
@Injectable()
export class InboundMailService {
  private readonly logger = new Logger(InboundMailService.name);
  private readonly ingestBudget: ByteBudget;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(InboundMailRepository) private readonly inboundMail: InboundMailStore,
    @Inject(RequestsService) private readonly requests: IngestRequests,
    @Inject(MessagesService) private readonly messages: IngestMessages,
    @Inject(ConversationService) private readonly conversation: Pick<ConversationService, 'sendAutoReply'>,
    @Inject(BlocklistService) private readonly blocklist: SenderBlocklist,
    @Inject(WebhooksService) private readonly webhooks: Pick<WebhooksService, 'enqueueAll'>,
    @Inject(ParsePool) private readonly parser: Pick<ParsePool, 'parseOwned'>,
    @Inject(BlobsService) private readonly blobs: Pick<BlobsService, 'put' | 'read' | 'open'>,
    @Optional() @Inject(MetricsService) private readonly metrics?: Pick<MetricsService, 'countIngested'>,
    @Optional()
    @Inject(MailboxDirectoryService)
    private readonly mailboxes?: Pick<MailboxDirectory, 'get' | 'forRecipients' | 'ownAddresses'>,
    @Optional() @Inject(SideThreadsService) private readonly sides?: ThreadSides,
    @Optional()
    @Inject(ParticipantsService)
    private readonly participants?: Pick<ParticipantsService, 'addFromMail' | 'ownAddresses'>,
  ) {
    this.ingestBudget = new ByteBudget(config.mail.ingestBytes);
  }

  /**
   * Ingests one raw email. `history` (the CLI's imports of old mail) stores it like any other but
   * sends no auto-reply.
   */
  async ingest(raw: Buffer, source: InboundSource, options: IngestOptions = {}): Promise<IngestResult> {
    // A mail takes several times its size while it is parsed and written: large ones take turns.
    // Its size is read now: a handed-over `raw` is empty once it went to its parse thread.
    const bytes = raw.length;
    await this.ingestBudget.acquire(bytes);
    let result: IngestResult;
    try {
      result = await this.pipeline(raw, source, options);
    } finally {
      this.ingestBudget.release(bytes);
    }
    this.metrics?.countIngested(source, result.status);
    return result;
  }

  /**
   * The steps in order. A mail that cannot be parsed, that the filters quarantine, or whose
   * processing fails for any reason but an unreachable database is quarantined.
   */
  private async pipeline(given: Buffer, source: InboundSource, options: IngestOptions): Promise<IngestResult> {
    const parsed = await this.parse(given, options.handOver === true);
    // The raw mail from here on: `given` may have gone to the parse thread and come back as another Buffer.
    const { rawSha256, raw } = parsed;
    if (parsed.kind === 'unparsable')
      return this.quarantine(raw, rawSha256, source, parsed.hashKey, null, parsed.reason);
    const { keys } = parsed;
    try {
      const mail = withEnvelopeSender(parsed.mail, options.envelopeFrom);
      const own = await this.ownAddresses();
      const decision = await this.filter(mail, own);
      if (decision.action === 'quarantine')
        return await this.quarantine(raw, rawSha256, source, keys.dedupe, mail, decision.reason);
      const route = await this.route(mail, decision, options);
      // The raw mail and its files in the blob store, durably, before the transaction that names
      // them opens (docs/storage.md); a store that is down throws (retry later). Only for mail that
      // goes on: a quarantined one keeps its raw mail alone (quarantine).
      await this.putBlobs(raw, rawSha256, mail);
      const committed = await this.commit(raw, rawSha256, source, mail, keys, decision, route, options, own);
      if (committed.kind === 'duplicate') return await this.duplicate(keys.dedupe, keys.messageId);
      const { status, requestId, reason } = committed.outcome;
      return { status, requestId, messageId: keys.messageId, reason };
    } catch (e) {
      if (isStorageUnavailable(e)) throw e;
      this.logger.warn(`mail ${keys.dedupe} quarantined: ${(e as Error).message}`);
      return this.quarantineSafely(
        raw,
        rawSha256,
        source,
        parsed.mail,
        keys,
        `processing failed: ${(e as Error).message}`,
      );
    }
  }

  /**
   * Writes the raw mail and its files to the blob store (each distinct file once); a file whose
   * parser checksum is not a SHA-256 gets the one computed here, which its attachments row keeps.
   */
  private async putBlobs(raw: Buffer, rawSha256: string, mail: ParsedMail): Promise<void> {
    const files = mail.attachments;
    const hashes = await this.blobs.put([
      { bytes: raw, sha256: rawSha256 },
      ...files.map((a) => ({ bytes: a.content, sha256: /^[0-9a-f]{64}$/.test(a.sha256) ? a.sha256 : undefined })),
    ]);
    // Written: the rows name the files by hash, nothing after this reads their bytes. Dropped now,
    // not when the transaction and the answer are done (a 15 MB attachment held for as long).
    files.forEach((a, i) => {
      a.sha256 = hashes[i + 1];
      a.content = EMPTY;
    });
  }

  /**
   * claim -> thread -> store -> notify, in one transaction (the ingest transaction): the claim is
   * its first statement and the record of the outcome on the claimed row its last. A duplicate
   * ends it right after the claim, which changed no row: it commits with nothing written.
   */
  private commit(
    raw: Buffer,
    rawSha256: string,
    source: InboundSource,
    mail: ParsedMail,
    keys: MailKeys,
    decision: AdmitDecision,
    route: MailRoute,
    options: IngestOptions,
    own: ReadonlySet<string> | undefined,
  ): Promise<Committed> {
    return this.inboundMail.transaction(async (tx) => {
      const claim = await this.claim(tx, raw, rawSha256, source, mail, keys.dedupe);
      if (claim.kind === 'duplicate') return claim;
      const thread = await this.thread(tx, mail, raw, decision, route);
      if (thread.kind === 'none') return this.record(tx, claim, ignored(thread.reason));
      const messageRowId = await this.store(tx, thread, mail, keys.messageId, own);
      await this.notify(tx, thread, mail, messageRowId, options);
      return this.record(tx, claim, filed(thread, messageRowId));
    });
  }

  /**
   * The parse step: the mail as ParsedMail with its keys (the raw mail's hash comes from the parse
   * thread), or why it cannot be read (too large, unparsable, past a parse cap or deadline).
   */
  private async parse(given: Buffer, handOver: boolean): Promise<Parsed> {
    const limit = this.config.mail.maxInboundBytes;
    if (given.length > limit) {
      const reason = `too large: ${given.length} bytes (limit ${limit})`;
      const rawSha256 = await sha256Hex(given);
      return { kind: 'unparsable', hashKey: hashKey(rawSha256), rawSha256, reason, raw: given };
    }
    // Throws only when a parse thread ended holding the raw mail (ParseThreadLostError): retry later.
    const parsed = await this.parser.parseOwned(given, { handOver });
    const { raw } = parsed;
    if ('mail' in parsed) {
      const { mail, rawSha256 } = parsed;
      return { kind: 'parsed', mail, keys: mailKeys(mail.messageId, rawSha256), rawSha256, raw };
    }
    const rawSha256 = parsed.rawSha256 ?? (await sha256Hex(raw));
    return {
      kind: 'unparsable',
      hashKey: hashKey(rawSha256),
      rawSha256,
      reason: parseFailureReason(parsed.error),
      raw,
    };
  }

  /**
   * Our own addresses (every mailbox's address and alias; with participants, SUPPORT_ADDRESS too),
   * read from the directory's cache once per mail, before the transaction opens: the loop guard's
   * and the participant rule's.
   */
  private async ownAddresses(): Promise<ReadonlySet<string> | undefined> {
    if (this.participants) return this.participants.ownAddresses();
    return this.mailboxes?.ownAddresses();
  }

  /**
   * The filter step (filterMail): header filters (the loop guard knowing every mailbox's addresses),
   * then the sender's address and the blocklist.
   */
  private filter(mail: ParsedMail, own: ReadonlySet<string> | undefined): Promise<FilterDecision> {
    return filterMail(mail, this.config, this.blocklist, own);
  }

  /**
   * The route step (routing/mailbox-route.ts): the mailbox the mail belongs to, by the IMAP account
   * it was read from, else its recipients, else the default mailbox; read from the directory's
   * cache before the transaction opens (never a query inside it). Mail that goes on no request of
   * its own (own mail, bounces) needs none.
   */
  private async route(mail: ParsedMail, decision: AdmitDecision, options: IngestOptions): Promise<MailRoute> {
    if (!this.mailboxes || (decision.action !== 'continue' && decision.action !== 'automatic')) return DEFAULT_ROUTE;
    return routeMail(this.mailboxes, mail, { mailboxId: options.mailboxId, envelopeTo: options.envelopeTo });
  }

  /** The claim step: the raw mail under its dedupe key, or `duplicate` when a processed copy holds it. */
  private async claim(
    tx: EntityManager,
    raw: Buffer,
    rawSha256: string,
    source: InboundSource,
    mail: ParsedMail,
    dedupeKey: string,
  ): Promise<Claim> {
    const inboundId = await this.inboundMail.claim(rawMail(raw, rawSha256, source, dedupeKey, mail), tx);
    return inboundId === null ? { kind: 'duplicate' } : { kind: 'claimed', inboundId };
  }

  /** The thread step (threadMail): the request the mail goes on (a new one in the route's mailbox and group), or none. */
  private thread(
    tx: EntityManager,
    mail: ParsedMail,
    raw: Buffer,
    decision: AdmitDecision,
    route: MailRoute,
  ): Promise<Thread> {
    return threadMail(tx, mail, raw, decision, this.requests, this.messages, route, this.sides);
  }

  /**
   * The store step: the message (with its attachments) on its request, and the request event that
   * records it (`bounce` by the system; `created` or `message` by the customer; `side_message` for a
   * third party's answer in a side thread); for customer mail
   * (the customer's or a participant's), its To and Cc but our own addresses (`own`) join the
   * request's participants (ParticipantsService.addFromMail: bounded, with its event). The message's row id.
   */
  private async store(
    tx: EntityManager,
    thread: RequestThread,
    mail: ParsedMail,
    messageId: string,
    own: ReadonlySet<string> | undefined,
  ): Promise<number> {
    if (thread.kind === 'side') return this.storeSide(tx, thread, mail, messageId);
    const bounce = thread.kind === 'bounce';
    const message = await this.messages.append(
      tx,
      inboundMessage(thread.requestId, mail, messageId, bounce ? 'system' : 'customer'),
    );
    await this.requests.addEvent(
      tx,
      thread.requestId,
      thread.kind === 'bounce'
        ? { type: 'bounce', actor: 'system', data: { messageId: message.id, reason: thread.reason } }
        : {
            type: thread.created ? 'created' : 'message',
            actor: 'customer',
            data: {
              messageId: message.id,
              direction: 'in',
              ...(thread.automatic !== null ? { automatic: thread.automatic } : {}),
            },
          },
    );
    if (thread.kind === 'customer' && this.participants)
      await this.participants.addFromMail(tx, thread.requestId, [...mail.to, ...mail.cc], own ?? new Set());
    return message.id;
  }

  /**
   * The store step of a third party's answer: a `side` message of its side thread (attachments
   * kept), on the request whatever its status (a closed request stays closed: the answer is
   * internal), and a `side_message` event by the system. No participant is added.
   */
  private async storeSide(tx: EntityManager, thread: SideThread, mail: ParsedMail, messageId: string): Promise<number> {
    const message = await this.messages.append(tx, {
      ...inboundMessage(thread.requestId, mail, messageId, 'side'),
      sideThreadId: thread.sideThreadId,
    });
    await this.requests.addEvent(tx, thread.requestId, {
      type: 'side_message',
      actor: 'system',
      data: {
        messageId: message.id,
        sideThreadId: thread.sideThreadId,
        from: mail.from?.address ?? '',
        ...(thread.automatic !== null ? { automatic: thread.automatic } : {}),
      },
    });
    return message.id;
  }

  /**
   * The notify step, for customer mail (a bounce notifies nobody): the outgoing webhook events,
   * and the creation auto-reply for a request a person's mail opened (never for automatic mail
   * or history). Both dispatchers are woken when the transaction commits (their enqueue asks for it).
   */
  private async notify(
    tx: EntityManager,
    thread: RequestThread,
    mail: ParsedMail,
    messageRowId: number,
    options: IngestOptions,
  ): Promise<void> {
    if (thread.kind === 'side') {
      // A third party's answer: its own event, never an auto-reply.
      await this.webhooks.enqueueAll(tx, [sideReceivedEvent(thread, mail, messageRowId)]);
      return;
    }
    if (thread.kind !== 'customer') return;
    await this.webhooks.enqueueAll(tx, webhookEvents(thread.requestId, thread.created, mail, messageRowId));
    if (!thread.created || thread.automatic !== null || options.history) return;
    await this.conversation.sendAutoReply(tx, thread.requestId, 'created');
  }

  /** Records on the claimed row what became of the mail: the last statement of the transaction. */
  private async record(tx: EntityManager, claim: { inboundId: string }, outcome: InboundOutcome): Promise<Committed> {
    await this.inboundMail.record(claim.inboundId, outcome, tx);
    return { kind: 'filed', outcome };
  }

  /**
   * Keeps the raw mail with the reason (its blob written first); a copy that was already processed
   * makes this a duplicate.
   */
  private async quarantine(
    raw: Buffer,
    rawSha256: string,
    source: InboundSource,
    dedupeKey: string,
    mail: ParsedMail | null,
    reason: string,
  ): Promise<IngestResult> {
    // Its raw mail in the blob store first, as for any row that names a blob.
    await this.blobs.put([{ bytes: raw, sha256: rawSha256 }]);
    if (!(await this.inboundMail.quarantine(rawMail(raw, rawSha256, source, dedupeKey, mail), reason)))
      return this.duplicate(dedupeKey, mail?.messageId ?? null);
    return { status: 'quarantined', requestId: null, messageId: mail?.messageId ?? null, reason };
  }

  /**
   * The fallback of a mail whose processing failed: quarantined under its dedupe key with its
   * header fields; when PostgreSQL cannot store one of them as text (e.g. a NUL byte in the
   * Message-ID), under the hash of its bytes without them.
   */
  private async quarantineSafely(
    raw: Buffer,
    rawSha256: string,
    source: InboundSource,
    mail: ParsedMail,
    keys: MailKeys,
    reason: string,
  ): Promise<IngestResult> {
    try {
      return await this.quarantine(raw, rawSha256, source, keys.dedupe, mail, reason);
    } catch (e) {
      if (isStorageUnavailable(e)) throw e;
      return this.quarantine(
        raw,
        rawSha256,
        source,
        keys.hash,
        null,
        `${reason}; header fields not storable: ${(e as Error).message}`,
      );
    }
  }

  /** The answer to a copy of a mail that was already processed: the request the first copy went on. */
  private async duplicate(dedupeKey: string, messageId: string | null): Promise<IngestResult> {
    return {
      status: 'duplicate',
      requestId: await this.inboundMail.requestOf(dedupeKey),
      messageId,
      reason: 'already received',
    };
  }

  /**
   * Keeps a raw mail quarantined with `reason`, unprocessed: for a way in that knows the mail it
   * holds is not the whole mail (Amazon SES put the content in S3: ses/). Stored under the hash of
   * its bytes, so the same call again changes nothing.
   */
  async keepQuarantined(raw: Buffer, source: InboundSource, reason: string): Promise<IngestResult> {
    const rawSha256 = await sha256Hex(raw);
    const result = await this.quarantine(raw, rawSha256, source, hashKey(rawSha256), null, reason);
    this.metrics?.countIngested(source, result.status);
    return result;
  }

  /** Quarantined mail, newest first, without the raw bytes. */
  listQuarantined(page: number, limit: number): Promise<{ items: InboundMail[]; total: number }> {
    return this.inboundMail.listQuarantined(page, limit);
  }

  /**
   * The raw bytes of received mail `id`, or null when there is no such row: the one place outside
   * the pipeline that reads a stored raw mail (the customer's export), so that where the bytes live
   * (a bytea column today, the blob store tomorrow) is known here only.
   */
  async rawMail(id: string): Promise<Readable | null> {
    const row = await this.inboundMail.findForReplay(id);
    if (row?.raw) return Readable.from([row.raw]);
    if (row?.rawSha256) return (await this.blobs.open(row.rawSha256)).stream;
    return null;
  }

  /** Runs a quarantined mail through the pipeline again (after a fix); the row is taken over on success. */
  async replay(id: string): Promise<IngestResult> {
    const row = await this.inboundMail.findForReplay(id);
    if (!row) throw new NotFoundException(`inbound mail ${id} does not exist`);
    if (row.status !== 'quarantined')
      throw new ConflictException(`inbound mail ${id} is ${row.status}, not quarantined`);
    // An old row holds its bytes; a new one names its blob.
    const raw = row.raw ?? (row.rawSha256 ? await this.blobs.read(row.rawSha256) : null);
    if (!raw) throw new ConflictException(`inbound mail ${id} has no raw mail any more (retention)`);
    const result = await this.ingest(raw, row.source, { handOver: true });
    // Stored under another key now (e.g. its Message-ID could be read after a parser fix).
    if (result.status !== 'quarantined') await this.inboundMail.markReplayed(id);
    return result;
  }
}

/** The raw mail under `dedupeKey`, with what was read of its header (nothing without `mail`). */
function rawMail(
  raw: Buffer,
  rawSha256: string,
  source: InboundSource,
  dedupeKey: string,
  mail: ParsedMail | null,
): RawMail {
  return {
    source,
    dedupeKey,
    messageId: mail?.messageId ?? null,
    fromAddress: mail?.from?.address ?? null,
    subject: mail?.subject ?? null,
    size: raw.length,
    rawSha256,
  };
}

/** The outcome of a mail that goes on no request. */
function ignored(reason: string): InboundOutcome {
  return { status: 'ignored', reason, requestId: null, messageRowId: null };
}

/** The outcome of a mail stored on a request: a bounce keeps its reason, automatic mail the reason it is not answered. */
function filed(thread: RequestThread, messageRowId: number): InboundOutcome {
  const { requestId } = thread;
  if (thread.kind === 'bounce') return { status: 'appended', reason: thread.reason, requestId, messageRowId };
  if (thread.kind === 'side') return { status: 'appended', reason: thread.automatic, requestId, messageRowId };
  return { status: thread.created ? 'created' : 'appended', reason: thread.automatic, requestId, messageRowId };
}

/** The inbound message of a mail, as MessagesService.append stores it. */
function inboundMessage(
  requestId: number,
  mail: ParsedMail,
  messageId: string,
  kind: 'customer' | 'system' | 'side',
): NewMessage {
  return {
    requestId,
    direction: 'in',
    kind,
    fromAddress: mail.from?.address ?? '',
    fromName: mail.from?.name || null,
    senderSource: mail.senderSource,
    to: mail.to.map((a) => a.address),
    cc: mail.cc.map((a) => a.address),
    subject: mail.subject,
    text: mail.text,
    visibleText: mail.visibleText ?? null,
    html: mail.html,
    safeHtml: mail.safeHtml ?? null,
    messageId,
    inReplyTo: mail.inReplyTo,
    references: mail.references,
    attachments: mail.attachments,
  };
}

/** `request.created` (for a new request) and `message.received`, queued in the ingest transaction. */
function webhookEvents(requestId: number, created: boolean, mail: ParsedMail, messageRowId: number) {
  const customer = { email: mail.from?.address ?? '', name: mail.from?.name || null };
  const received = {
    event: 'message.received' as const,
    data: {
      requestId,
      messageId: messageRowId,
      from: customer,
      subject: mail.subject,
      text: mail.text.slice(0, WEBHOOK_TEXT_LIMIT),
      attachments: mail.attachments.map((a) => a.filename),
    },
  };
  if (!created) return [received];
  return [
    { event: 'request.created' as const, data: { requestId, subject: requestSubject(mail), customer } },
    received,
  ];
}

/** `message.side_received`: a third party's answer in a side thread, queued in the ingest transaction. */
function sideReceivedEvent(thread: SideThread, mail: ParsedMail, messageRowId: number) {
  return {
    event: 'message.side_received' as const,
    data: {
      requestId: thread.requestId,
      messageId: messageRowId,
      sideThreadId: thread.sideThreadId,
      from: { email: mail.from?.address ?? '', name: mail.from?.name || null },
      subject: mail.subject,
      text: mail.text.slice(0, WEBHOOK_TEXT_LIMIT),
      attachments: mail.attachments.map((a) => a.filename),
    },
  };
}
