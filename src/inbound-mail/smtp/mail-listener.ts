import type { SMTPServerAddress, SMTPServerDataResult, SMTPServerOptions, SMTPServerSession } from 'smtp-server';
import type { ByteBudget } from '../../common/byte-budget';
import type { IngestOptions } from '../inbound-mail.service';
import type { IngestResult } from '../ingest-result';
import { ConnectionLimit } from './connection-limit';
import { type DataStream, receiveMail } from './received-mail';
import {
  acceptedText,
  noSuchMailbox,
  REPLY,
  SmtpReply,
  tooLarge,
  tooManyConnections,
  tooManyUnknownRecipients,
  tryLater,
} from './smtp-replies';

/** The two listeners: SMTP (from anywhere) and LMTP (from the local mail server: one answer per recipient). */
export type ListenerKind = 'smtp' | 'lmtp';

/** Unknown recipients one session may try before it is closed with 421 (a sender guessing addresses). */
export const MAX_UNKNOWN_RECIPIENTS = 20;

/** What a listener asks of the rest of the desk (the services in the app; in-memory fakes in unit tests). */
export interface ListenerDeps {
  /** InboundMailService.ingest: answers once the mail is committed; throws when it cannot store. */
  ingest(raw: Buffer, source: ListenerKind, options: IngestOptions): Promise<IngestResult>;
  /** Every mailbox's address and alias, lowercase, disabled mailboxes' included (MailboxDirectory.ownAddresses). */
  ownAddresses(): Promise<ReadonlySet<string>>;
  /** Counts a reply that decides a connection, a recipient or a mail (MetricsService.countSmtpReply). */
  count?(listener: ListenerKind, stage: 'connection' | 'recipient' | 'data', code: number): void;
  log: { log(message: string): void; warn(message: string): void; error(message: string): void };
}

/** The limits of one listener (AppConfig.listeners and INBOUND_MAX_BYTES). */
export interface ListenerLimits {
  /** INBOUND_MAX_BYTES: advertised as SIZE, 552 past it. */
  maxBytes: number;
  maxConnections: number;
  maxConnectionsPerIp: number;
  maxRecipients: number;
  socketTimeoutMs: number;
  /** How long a shutdown lets the current transactions finish before the connections are closed. */
  closeTimeoutMs: number;
}

/** Per session: its client address was counted by the connection limit; unknown recipients tried. */
interface SessionState {
  counted: boolean;
  unknownRecipients: number;
}

/**
 * The handlers of one listener (smtp-server's onConnect, onRcptTo, onData, onClose), apart from
 * the server so that unit tests call them with fakes:
 *
 *   connect   at most maxConnectionsPerIp connections per client address, else 421 4.7.0
 *   RCPT TO   a mailbox's address or alias (disabled mailboxes' too: their mail goes to the default
 *             mailbox, never lost), else 550 5.1.1 (never a relay); after MAX_UNKNOWN_RECIPIENTS, 421
 *   DATA      read under the listeners' byte budget (552 past INBOUND_MAX_BYTES, nothing kept),
 *             ingested once with the envelope (source smtp or lmtp): 250 only once the ingest
 *             committed, whatever its result (a duplicate changes nothing); 451 4.3.0 when it
 *             cannot store, so the sender keeps the mail and retries. LMTP: one answer per recipient,
 *             the same for each: the mail is stored once.
 */
export class MailListener {
  private readonly sessions = new WeakMap<SMTPServerSession, SessionState>();
  private readonly perAddress: ConnectionLimit;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    readonly kind: ListenerKind,
    private readonly deps: ListenerDeps,
    private readonly limits: ListenerLimits,
    /** Bytes of mail being received or ingested by the listeners, together (INBOUND_MAX_IN_FLIGHT_BYTES). */
    private readonly budget: ByteBudget,
  ) {
    this.perAddress = new ConnectionLimit(limits.maxConnectionsPerIp);
  }

  /** smtp-server's options for this listener: the limits, no AUTH, STARTTLS only with `tls`. */
  options(tls?: { cert: Buffer; key: Buffer }): SMTPServerOptions {
    const lmtp = this.kind === 'lmtp';
    return {
      lmtp,
      banner: 'MailDesk',
      size: this.limits.maxBytes,
      rejectOversized: true,
      hideENHANCEDSTATUSCODES: false,
      authOptional: true,
      disabledCommands: tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
      ...(tls ? { cert: tls.cert, key: tls.key } : {}),
      disableReverseLookup: true,
      maxClients: this.limits.maxConnections,
      maxRecipients: this.limits.maxRecipients,
      socketTimeout: this.limits.socketTimeoutMs,
      closeTimeout: this.limits.closeTimeoutMs,
      logger: false,
      onConnect: (session, callback) => callback(this.connect(session)),
      onClose: (session) => this.close(session),
      onRcptTo: (address, session, callback) => {
        this.recipient(address, session).then(
          () => callback(),
          (e: Error) => callback(e),
        );
      },
      onData: (stream, session, callback) => {
        const done = this.data(stream, session).then(
          (result) => callback(null, result),
          (e: Error) => callback(e),
        );
        this.track(done);
      },
    };
  }

  /** Resolves once every mail being received or ingested now is answered (graceful shutdown). */
  async settled(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  /** onConnect: counts the client address; null to serve it, the 421 to refuse it. */
  connect(session: SMTPServerSession): SmtpReply | null {
    const state: SessionState = { counted: false, unknownRecipients: 0 };
    this.sessions.set(session, state);
    if (!this.perAddress.open(session.remoteAddress)) {
      this.deps.count?.(this.kind, 'connection', REPLY.closing);
      return tooManyConnections();
    }
    state.counted = true;
    return null;
  }

  /** onClose: gives the client address's connection back. */
  close(session: SMTPServerSession): void {
    const state = this.sessions.get(session);
    if (state?.counted) this.perAddress.close(session.remoteAddress);
    if (state) state.counted = false;
  }

  /** onRcptTo: resolves for one of the desk's addresses; rejects with the reply otherwise. */
  async recipient(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    let own: ReadonlySet<string>;
    try {
      own = await this.deps.ownAddresses();
    } catch (e) {
      this.deps.count?.(this.kind, 'recipient', REPLY.tryLater);
      throw tryLater(e);
    }
    if (own.has(address.address.trim().toLowerCase())) return;
    const state = this.sessions.get(session);
    if (state && ++state.unknownRecipients > MAX_UNKNOWN_RECIPIENTS) {
      this.deps.count?.(this.kind, 'recipient', REPLY.closing);
      throw tooManyUnknownRecipients();
    }
    this.deps.count?.(this.kind, 'recipient', REPLY.noSuchMailbox);
    throw noSuchMailbox(address.address);
  }

  /**
   * onData: the mail, read and ingested; the 250 text (LMTP: one per recipient), or rejects with
   * the reply (552, 451).
   */
  async data(stream: DataStream, session: SMTPServerSession): Promise<string | SMTPServerDataResult[]> {
    const envelope = session.envelope;
    const from = envelope.mailFrom ? envelope.mailFrom.address : '';
    const to = envelope.rcptTo.map((r) => r.address.toLowerCase());
    const declared = envelope.mailFrom && envelope.mailFrom.args ? Number(envelope.mailFrom.args.SIZE) : NaN;
    const client = `${session.remoteAddress} (${session.hostNameAppearsAs || 'no HELO'})`;
    const received = await receiveMail(
      stream,
      this.budget,
      this.limits.maxBytes,
      Number.isFinite(declared) ? declared : undefined,
    );
    if (received.kind === 'aborted') {
      this.deps.log.warn(`${this.kind}: ${client} left in the middle of a mail: ${received.error.message}`);
      throw tryLater(received.error);
    }
    if (received.kind === 'too-large') {
      this.deps.count?.(this.kind, 'data', REPLY.tooLarge);
      this.deps.log.log(`${this.kind}: ${client} sent a mail over ${this.limits.maxBytes} bytes: 552`);
      throw tooLarge(this.limits.maxBytes);
    }
    let result: IngestResult;
    try {
      result = await this.deps.ingest(received.raw, this.kind, {
        envelopeFrom: from || null,
        envelopeTo: to,
        handOver: true,
      });
    } catch (e) {
      this.deps.count?.(this.kind, 'data', REPLY.tryLater);
      const reply = tryLater(e);
      this.deps.log.warn(`${this.kind}: mail from <${from}> via ${client}: 451 ${(e as Error).message}`);
      throw reply;
    } finally {
      received.reservation.release();
    }
    this.deps.count?.(this.kind, 'data', REPLY.accepted);
    const text = acceptedText(result);
    this.deps.log.log(`${this.kind}: mail from <${from}> via ${client} to ${to.join(', ')}: 250 ${text}`);
    // LMTP: one answer per recipient, each the same outcome (the mail is stored once).
    return this.kind === 'lmtp' ? to.map((address) => `<${address}> ${text}`) : text;
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }
}
