import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

/** The one login a sink accepts (SmtpSink.start). */
export interface SinkAuth {
  user: string;
  pass: string;
}

/** One mail the sink accepted. */
export interface SinkMail {
  envelope: { from: string; to: string[] };
  /** The user the client logged in as (a sink started with `auth`); undefined without a login. */
  user?: string;
  raw: Buffer;
  parsed: ParsedMail;
}

/**
 * A real SMTP listener for tests (smtp-server in-process, 127.0.0.1, no TLS, auth optional) that
 * keeps every accepted mail parsed by mailparser. It can refuse the next N mails with a given
 * reply code, and be stopped and started again on the same port to simulate an outage.
 */
export class SmtpSink {
  /** Accepted mails, in order. */
  readonly mails: SinkMail[] = [];
  /** Mails refused by failNext, in order (their reply codes). */
  readonly refused: number[] = [];
  private server: SMTPServer | undefined;
  private failures: Array<{ code: number; message: string }> = [];
  private waiters: Array<() => void> = [];
  /** Logins refused (a sink started with `auth`), in order: the users tried. */
  readonly refusedLogins: string[] = [];
  private constructor(
    private portNumber: number,
    private readonly auth?: SinkAuth,
  ) {}

  /**
   * Starts a sink on `port` (0: any free port). With `auth`, a login (PLAIN or LOGIN) with this
   * user and password is required before MAIL FROM, and any other is refused with 535.
   */
  static async start(port = 0, auth?: SinkAuth): Promise<SmtpSink> {
    const sink = new SmtpSink(port, auth);
    await sink.listen();
    return sink;
  }

  get port(): number {
    return this.portNumber;
  }

  /** SMTP_URL pointing at this sink. */
  get url(): string {
    return `smtp://127.0.0.1:${this.portNumber}`;
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  /** Answers the DATA of the next `count` mails with `code` (e.g. 451 or 550) instead of 250. */
  failNext(count: number, code: number, message = code >= 500 ? 'Mailbox unavailable' : 'Try again later'): void {
    for (let i = 0; i < count; i++) this.failures.push({ code, message });
  }

  /** Mails whose Message-ID (without brackets) is `id`. */
  byMessageId(id: string): SinkMail[] {
    return this.mails.filter((m) => m.parsed.messageId === `<${id}>`);
  }

  /** Resolves once at least `count` mails have arrived; rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 10_000): Promise<SinkMail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.mails.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`smtp sink: ${this.mails.length} of ${count} mails after ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 250));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.mails;
  }

  /** Closes the listener and drops open connections (pooled clients see the server go away). */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Starts listening again on the same port. */
  async restart(): Promise<void> {
    await this.stop();
    await this.listen();
  }

  private async listen(): Promise<void> {
    const auth = this.auth;
    const server = new SMTPServer({
      authOptional: !auth,
      ...(auth
        ? {
            authMethods: ['PLAIN', 'LOGIN'],
            allowInsecureAuth: true,
            onAuth: (login, _session, callback) => {
              if (login.username === auth.user && login.password === auth.pass)
                return callback(null, { user: login.username });
              this.refusedLogins.push(login.username ?? '');
              callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
            },
          }
        : {}),
      disabledCommands: ['STARTTLS'],
      logger: false,
      disableReverseLookup: true,
      closeTimeout: 50,
      size: 50 * 1024 * 1024,
      onData: (stream, session, callback) => void this.receive(stream, session, callback),
    });
    server.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(this.portNumber, '127.0.0.1', () => {
        server.server.off('error', reject);
        resolve();
      });
    });
    this.portNumber = (server.server.address() as AddressInfo).port;
    this.server = server;
  }

  private async receive(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    callback: (err?: Error | null) => void,
  ): Promise<void> {
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of stream) chunks.push(chunk as Buffer);
    } catch (e) {
      callback(e as Error);
      return;
    }
    const failure = this.failures.shift();
    if (failure) {
      this.refused.push(failure.code);
      callback(Object.assign(new Error(failure.message), { responseCode: failure.code }));
      return;
    }
    const raw = Buffer.concat(chunks);
    const parsed = await simpleParser(raw);
    const from = session.envelope.mailFrom;
    this.mails.push({
      envelope: { from: from ? from.address : '', to: session.envelope.rcptTo.map((r) => r.address) },
      user: typeof session.user === 'string' ? session.user : undefined,
      raw,
      parsed,
    });
    callback(null);
    for (const w of this.waiters.splice(0)) w();
  }
}
