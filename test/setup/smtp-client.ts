import * as net from 'node:net';
import * as tls from 'node:tls';

/** One reply of an SMTP or LMTP server: its code and its lines' text (without the code). */
export interface SmtpReplyLine {
  code: number;
  /** Every line, `250-` / `250 ` stripped. */
  lines: string[];
  /** The last line's text (what a one-line reply says). */
  text: string;
}

/**
 * A raw SMTP/LMTP client for tests that must see every reply as sent (per-recipient LMTP
 * answers, enhanced status codes, refusals at connect). Replies are read in order; `closed`
 * resolves when the server closes the connection.
 */
export class SmtpTestClient {
  private buffer = '';
  private readonly replies: SmtpReplyLine[] = [];
  private readonly waiting: Array<(r: SmtpReplyLine | null) => void> = [];
  private pending: string[] = [];
  private ended = false;
  readonly closed: Promise<void>;
  private markClosed!: () => void;

  private constructor(private socket: net.Socket | tls.TLSSocket) {
    this.closed = new Promise((resolve) => (this.markClosed = resolve));
    this.attach(socket);
  }

  /** Connects and reads the greeting (220, or the refusal). */
  static async connect(port: number, host = '127.0.0.1'): Promise<{ client: SmtpTestClient; greeting: SmtpReplyLine }> {
    const socket = net.connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const client = new SmtpTestClient(socket);
    const greeting = await client.read();
    return { client, greeting };
  }

  /** Sends one command line and reads its reply. */
  async command(line: string): Promise<SmtpReplyLine> {
    this.socket.write(line + '\r\n');
    return this.read();
  }

  /** DATA, then the mail (dot-stuffed) and the final dot; reads `answers` replies (LMTP: one per recipient). */
  async data(raw: Buffer | string, answers = 1): Promise<{ start: SmtpReplyLine; replies: SmtpReplyLine[] }> {
    const start = await this.command('DATA');
    if (start.code !== 354) return { start, replies: [] };
    const text = Buffer.isBuffer(raw) ? raw.toString('latin1') : raw;
    const body = text.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..');
    this.socket.write(Buffer.from(body.endsWith('\r\n') ? body : body + '\r\n', 'latin1'));
    this.socket.write('.\r\n');
    const replies: SmtpReplyLine[] = [];
    for (let i = 0; i < answers; i++) replies.push(await this.read());
    return { start, replies };
  }

  /** Writes raw bytes (part of a mail after DATA, a pipelined command). */
  write(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  /** STARTTLS and the TLS handshake, trusting `ca`; the session starts over (EHLO again). */
  async startTls(ca: Buffer | string, servername = 'localhost'): Promise<SmtpReplyLine> {
    const reply = await this.command('STARTTLS');
    if (reply.code !== 220) return reply;
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = tls.connect({ socket: plain, ca, servername });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
    return reply;
  }

  /** Whether the connection is TLS now. */
  get encrypted(): boolean {
    return this.socket instanceof tls.TLSSocket && this.socket.encrypted;
  }

  /** The next reply; rejects when the connection closed before it. */
  async read(): Promise<SmtpReplyLine> {
    const next = this.replies.shift();
    if (next) return next;
    if (this.ended) throw new Error('connection closed');
    const reply = await new Promise<SmtpReplyLine | null>((resolve) => this.waiting.push(resolve));
    if (!reply) throw new Error('connection closed');
    return reply;
  }

  /** QUIT (when still open) and close. */
  async quit(): Promise<void> {
    if (!this.ended) {
      await this.command('QUIT').catch(() => undefined);
      this.socket.end();
    }
    await Promise.race([this.closed, new Promise((r) => setTimeout(r, 2000).unref())]);
    this.socket.destroy();
  }

  private attach(socket: net.Socket): void {
    socket.on('data', (chunk: Buffer) => this.onData(chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.ended = true;
      for (const w of this.waiting.splice(0)) w(null);
      this.markClosed();
    });
  }

  private onData(text: string): void {
    this.buffer += text;
    let i: number;
    while ((i = this.buffer.indexOf('\r\n')) >= 0) {
      const line = this.buffer.slice(0, i);
      this.buffer = this.buffer.slice(i + 2);
      this.pending.push(line);
      if (line[3] === '-') continue;
      const reply: SmtpReplyLine = {
        code: Number(line.slice(0, 3)),
        lines: this.pending.map((l) => l.slice(4)),
        text: line.slice(4),
      };
      this.pending = [];
      const w = this.waiting.shift();
      if (w) w(reply);
      else this.replies.push(reply);
    }
  }
}
