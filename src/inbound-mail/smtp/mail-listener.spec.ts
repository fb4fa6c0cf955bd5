import { PassThrough } from 'node:stream';
import type { SMTPServerSession } from 'smtp-server';
import { ByteBudget } from '../../common/byte-budget';
import type { IngestOptions } from '../inbound-mail.service';
import type { IngestResult } from '../ingest-result';
import { type ListenerDeps, type ListenerKind, MailListener, MAX_UNKNOWN_RECIPIENTS } from './mail-listener';
import { SmtpReply } from './smtp-replies';

const LIMITS = {
  maxBytes: 1024,
  maxConnections: 10,
  maxConnectionsPerIp: 2,
  maxRecipients: 5,
  socketTimeoutMs: 1000,
  closeTimeoutMs: 1000,
};

/** An in-memory ingest: records its calls, answers `results` in turn, or throws `failure`. */
function fakeDeps(o: { results?: IngestResult[]; failure?: Error; own?: string[] } = {}) {
  const calls: Array<{ raw: string; source: ListenerKind; options: IngestOptions }> = [];
  const counted: Array<[string, string, number]> = [];
  const results = [...(o.results ?? [])];
  const deps: ListenerDeps = {
    ingest: (raw, source, options) => {
      calls.push({ raw: raw.toString(), source, options });
      if (o.failure) return Promise.reject(o.failure);
      return Promise.resolve(results.shift() ?? created(1));
    },
    ownAddresses: () => Promise.resolve(new Set(o.own ?? ['support@desk.test', 'billing@desk.test'])),
    count: (listener, stage, code) => counted.push([listener, stage, code]),
    log: { log: () => undefined, warn: () => undefined, error: () => undefined },
  };
  return { deps, calls, counted };
}

const created = (requestId: number): IngestResult => ({
  status: 'created',
  requestId,
  messageId: 'm1@customer.test',
  reason: null,
});

function session(rcpts: string[], remoteAddress = '192.0.2.1', size?: number): SMTPServerSession {
  return {
    remoteAddress,
    hostNameAppearsAs: 'mx.customer.test',
    envelope: {
      mailFrom: { address: 'ann@customer.test', args: size ? { SIZE: String(size) } : false },
      rcptTo: rcpts.map((address) => ({ address, args: false })),
    },
  } as unknown as SMTPServerSession;
}

/** A DATA stream that carries `text` and ends. */
function stream(text: string): PassThrough {
  const s = new PassThrough();
  s.end(Buffer.from(text));
  return s;
}

const rejection = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: SmtpReply) => ({ code: e.responseCode, message: e.message }),
  );

describe('MailListener', () => {
  it('ingests a mail once with its envelope and answers 250 with what became of it', async () => {
    const { deps, calls, counted } = fakeDeps();
    const listener = new MailListener('smtp', deps, LIMITS, new ByteBudget(10_000));
    const answer = await listener.data(stream('Subject: hi\r\n\r\nbody\r\n'), session(['Support@Desk.Test']));
    expect(answer).toBe('<m1@customer.test> stored (created request 1)');
    expect(calls).toEqual([
      {
        raw: 'Subject: hi\r\n\r\nbody\r\n',
        source: 'smtp',
        // Handed over: the listener does not read the mail again (ParsePool may move it to its thread).
        options: { envelopeFrom: 'ann@customer.test', envelopeTo: ['support@desk.test'], handOver: true },
      },
    ]);
    expect(counted).toEqual([['smtp', 'data', 250]]);
  });

  it('answers a mail already stored with 250 (duplicate)', async () => {
    const { deps } = fakeDeps({
      results: [{ status: 'duplicate', requestId: 1, messageId: 'm1@customer.test', reason: null }],
    });
    const listener = new MailListener('smtp', deps, LIMITS, new ByteBudget(10_000));
    await expect(listener.data(stream('x'), session(['support@desk.test']))).resolves.toBe(
      '<m1@customer.test> already stored (duplicate)',
    );
  });

  it('LMTP: one answer per recipient, each the same outcome, the mail ingested once', async () => {
    const { deps, calls } = fakeDeps();
    const listener = new MailListener('lmtp', deps, LIMITS, new ByteBudget(10_000));
    const answer = await listener.data(stream('x'), session(['support@desk.test', 'billing@desk.test']));
    expect(answer).toEqual([
      '<support@desk.test> <m1@customer.test> stored (created request 1)',
      '<billing@desk.test> <m1@customer.test> stored (created request 1)',
    ]);
    expect(calls).toHaveLength(1);
    expect(calls[0].source).toBe('lmtp');
  });

  it('answers 451 when the database is unavailable, and for any unexpected failure: nothing is lost', async () => {
    const unavailable = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    for (const failure of [unavailable, new Error('something else broke')]) {
      const { deps, counted } = fakeDeps({ failure });
      const budget = new ByteBudget(10_000);
      const listener = new MailListener('smtp', deps, LIMITS, budget);
      const refused = await rejection(listener.data(stream('x'), session(['support@desk.test'])));
      expect(refused.code).toBe(451);
      expect(counted).toEqual([['smtp', 'data', 451]]);
      expect(budget.held).toBe(0);
    }
    const { deps } = fakeDeps({ failure: unavailable });
    const refused = await rejection(
      new MailListener('lmtp', deps, LIMITS, new ByteBudget(10_000)).data(stream('x'), session(['support@desk.test'])),
    );
    expect(refused.message).toMatch(/database or blob store unavailable/);
  });

  it('refuses a mail past maxBytes with 552 without ingesting it or keeping its bytes', async () => {
    const { deps, calls } = fakeDeps();
    const budget = new ByteBudget(10_000);
    const listener = new MailListener('smtp', deps, LIMITS, budget);
    const refused = await rejection(
      listener.data(stream('x'.repeat(LIMITS.maxBytes + 1)), session(['support@desk.test'])),
    );
    expect(refused.code).toBe(552);
    expect(calls).toHaveLength(0);
    expect(budget.held).toBe(0);
  });

  it("accepts the desk's addresses and aliases (any case) and refuses others with 550, then closes a guessing session with 421", async () => {
    const { deps } = fakeDeps();
    const listener = new MailListener('smtp', deps, LIMITS, new ByteBudget(10_000));
    const s = session([]);
    expect(listener.connect(s)).toBeNull();
    await expect(listener.recipient({ address: 'BILLING@desk.test', args: false }, s)).resolves.toBeUndefined();
    const refused = await rejection(listener.recipient({ address: 'someone@gmail.com', args: false }, s));
    expect(refused).toEqual({ code: 550, message: '<someone@gmail.com>: no such mailbox here' });
    for (let i = 1; i < MAX_UNKNOWN_RECIPIENTS; i++) {
      await expect(
        rejection(listener.recipient({ address: `x${i}@desk.test`, args: false }, s)),
      ).resolves.toMatchObject({
        code: 550,
      });
    }
    await expect(rejection(listener.recipient({ address: 'last@desk.test', args: false }, s))).resolves.toMatchObject({
      code: 421,
    });
  });

  it('answers 451 to a recipient while the mailboxes cannot be read', async () => {
    const { deps } = fakeDeps();
    deps.ownAddresses = () => Promise.reject(new Error('Connection terminated unexpectedly'));
    const listener = new MailListener('smtp', deps, LIMITS, new ByteBudget(10_000));
    await expect(
      rejection(listener.recipient({ address: 'support@desk.test', args: false }, session([]))),
    ).resolves.toMatchObject({ code: 451 });
  });

  it('serves maxConnectionsPerIp connections per client address, refusing more with 421 4.7.0 until one closes', () => {
    const { deps, counted } = fakeDeps();
    const listener = new MailListener('smtp', deps, LIMITS, new ByteBudget(10_000));
    const a = session([], '192.0.2.1');
    const b = session([], '192.0.2.1');
    const c = session([], '192.0.2.1');
    const other = session([], '192.0.2.2');
    expect(listener.connect(a)).toBeNull();
    expect(listener.connect(b)).toBeNull();
    const refused = listener.connect(c);
    expect(refused?.responseCode).toBe(421);
    expect(refused?.message).toMatch(/^4\.7\.0 /);
    expect(listener.connect(other)).toBeNull();
    listener.close(c); // a refused connection gives nothing back
    listener.close(a);
    listener.close(a); // closed twice: counted once
    expect(listener.connect(session([], '192.0.2.1'))).toBeNull();
    expect(listener.connect(session([], '192.0.2.1'))?.responseCode).toBe(421);
    expect(counted).toEqual([
      ['smtp', 'connection', 421],
      ['smtp', 'connection', 421],
    ]);
  });

  it('settles once the mails being received are answered', async () => {
    let finish!: (r: IngestResult) => void;
    const { deps } = fakeDeps();
    deps.ingest = () => new Promise((resolve) => (finish = resolve));
    const listener = new MailListener('smtp', deps, LIMITS, new ByteBudget(10_000));
    const answered: unknown[] = [];
    const options = listener.options();
    options.onData!(stream('x') as never, session(['support@desk.test']), (err, message) =>
      answered.push(err ?? message),
    );
    let settled = false;
    const done = listener.settled().then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    finish(created(7));
    await done;
    expect(answered).toEqual(['<m1@customer.test> stored (created request 7)']);
  });

  it('offers STARTTLS only with a certificate, never AUTH', () => {
    const { deps } = fakeDeps();
    const listener = new MailListener('smtp', deps, LIMITS, new ByteBudget(10_000));
    expect(listener.options().disabledCommands).toEqual(['AUTH', 'STARTTLS']);
    const tls = listener.options({ cert: Buffer.from('c'), key: Buffer.from('k') });
    expect(tls.disabledCommands).toEqual(['AUTH']);
    expect(tls).toMatchObject({ size: LIMITS.maxBytes, rejectOversized: true, maxRecipients: 5, authOptional: true });
  });
});
