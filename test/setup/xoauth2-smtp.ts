/**
 * An SMTP server for tests that accepts XOAUTH2 logins only, each after asking the authorization
 * server's introspection endpoint (test/setup/oauth2-server.ts) whether the bearer token is active
 * and issued to that user (`sub`), as Gmail and Microsoft 365 do in effect. `smtp-server`
 * in-process on 127.0.0.1, no TLS, authentication required; every accepted mail is kept parsed.
 *
 * Exported for the specs and the lead's end-to-end assembly:
 * - `Xoauth2Smtp.start({ introspectionUrl, clientId, clientSecret })`: `url(user)` (an SMTP URL
 *   with the user and no password, as a mailbox with OAuth2 stores it), `mails`, `logins`
 *   (accepted and refused, by user), `waitFor(count)`, `stop()`, `restart()`.
 */
import { simpleParser, type ParsedMail } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';

/** Where and how the server validates tokens (the `dovecot` client of the test provider fits). */
export interface Xoauth2SmtpOptions {
  introspectionUrl: string;
  clientId: string;
  clientSecret: string;
  /** Listen on this port (default: a free one). */
  port?: number;
}

/** One mail the server accepted, with the user who logged in to send it. */
export interface Xoauth2Mail {
  user: string;
  envelope: { from: string; to: string[] };
  raw: Buffer;
  parsed: ParsedMail;
}

/** One XOAUTH2 login attempt and how it ended. */
export interface Xoauth2Login {
  user: string;
  accepted: boolean;
}

/** See the top of this file. */
export class Xoauth2Smtp {
  /** Accepted mails, in order. */
  readonly mails: Xoauth2Mail[] = [];
  /** Every login attempt, in order. */
  readonly logins: Xoauth2Login[] = [];
  private server: SMTPServer | undefined;

  private constructor(
    private readonly options: Xoauth2SmtpOptions,
    private portNumber: number,
  ) {}

  /** Starts a server on `options.port` (default: any free port). */
  static async start(options: Xoauth2SmtpOptions): Promise<Xoauth2Smtp> {
    const smtp = new Xoauth2Smtp(options, options.port ?? 0);
    await smtp.listen();
    return smtp;
  }

  get port(): number {
    return this.portNumber;
  }

  /** An SMTP URL for `user` without a password (what an OAuth2 mailbox stores). */
  url(user: string): string {
    return `smtp://${encodeURIComponent(user)}@127.0.0.1:${this.portNumber}`;
  }

  /** Resolves once at least `count` mails have arrived; rejects after `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 10_000): Promise<Xoauth2Mail[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.mails.length < count) {
      if (Date.now() > deadline)
        throw new Error(`xoauth2 smtp: ${this.mails.length} of ${count} mails after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return this.mails;
  }

  /** Closes the listener and drops open connections. */
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

  /** Whether the introspection endpoint says `token` is active and belongs to `user`. */
  private async tokenValid(user: string, token: string): Promise<boolean> {
    try {
      const res = await fetch(this.options.introspectionUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          token,
          client_id: this.options.clientId,
          client_secret: this.options.clientSecret,
        }).toString(),
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) return false;
      const info = (await res.json()) as { active?: boolean; sub?: string };
      return info.active === true && info.sub === user;
    } catch {
      return false;
    }
  }

  private async listen(): Promise<void> {
    const server = new SMTPServer({
      authMethods: ['XOAUTH2'],
      authOptional: false,
      allowInsecureAuth: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      disableReverseLookup: true,
      closeTimeout: 50,
      onAuth: (auth, _session, callback) => {
        const user = auth.username ?? '';
        void this.tokenValid(user, auth.accessToken ?? '').then((ok) => {
          this.logins.push({ user, accepted: ok });
          if (ok) callback(null, { user });
          // smtp-server answers a refused XOAUTH2 with the JSON challenge, then 535.
          else callback(null, { data: { status: '401', schemes: 'bearer', scope: 'https://mail.test/' } });
        });
      },
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
    const raw = Buffer.concat(chunks);
    const from = session.envelope.mailFrom;
    this.mails.push({
      user: String(session.user ?? ''),
      envelope: { from: from ? from.address : '', to: session.envelope.rcptTo.map((r) => r.address) },
      raw,
      parsed: await simpleParser(raw),
    });
    callback(null);
  }
}
