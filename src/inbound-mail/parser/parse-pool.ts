import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { MailParseError } from './mail-parse-error';
import { ParseOutcome, ParseTask, reviveParsedMail } from './parse-outcome';
import { ParsedMail } from './parsed-mail';
import { ByteBudget } from '../../common/byte-budget';

/**
 * How long a parse thread above the first stays without work before it exits: a new one costs
 * about 28 MB and half a second of CPU (mailparser loaded, its code compiled again).
 */
const IDLE_THREAD_MS = 5 * 60_000;

/**
 * Parse threads run 10 nice levels below the process (Linux schedules threads one by one): a
 * stream of heavy mail then takes the cores the API's event loop and PostgreSQL leave free, instead
 * of sharing them equally and slowing every API call behind it (bench:hostile).
 */
const PARSE_THREAD_NICE = 10;

/**
 * One parse thread per core but one, at least one: the event loop that serves the API and
 * PostgreSQL keep a core while heavy mail streams in (bench:hostile: on 2 cores, two threads took
 * both and the API's p99 followed). Small mail parses in 1-2 ms, so one thread outruns ingest.
 */
function defaultParseThreads(): number {
  return Math.max(1, os.availableParallelism() - 1);
}
/**
 * Each parse thread's young generation, in MB (V8's default grows to 48 under a webhook stream):
 * on PostgreSQL, 4,000 mails at 32 connections, interleaved runs: RSS peak 313.5 MB without,
 * 293.3 / 294.6 MB with 8, the rate 98.8 vs 99.4 / 106.3 emails/s; with 4 the peak fell further
 * (289-298 MB) but the rate by 4-10% (bench/results/history.md, "Memory, second round").
 */
const PARSE_THREAD_YOUNG_MB = 8;

/**
 * A large mail is copied for its thread this much at a time, the event loop free between slices:
 * a 20 MB copy in one go held it 10-20 ms (its fresh pages fault in), the largest single task the
 * profile of bench:hostile showed on the event loop after the body left shared memory.
 */
const COPY_SLICE_BYTES = 1024 * 1024;

/** A copy of `raw` in an ArrayBuffer of its own, made COPY_SLICE_BYTES at a time. */
async function copyInSlices(raw: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  const copy = new Uint8Array(raw.length);
  for (let at = 0; at < raw.length; at += COPY_SLICE_BYTES) {
    if (at > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    copy.set(raw.subarray(at, at + COPY_SLICE_BYTES), at);
  }
  return copy;
}

/**
 * A raw mail at least this large that fills its own ArrayBuffer is handed to its parse thread
 * (moved, not copied) by `parseOwned`: a 20 MB copy took 8-9 ms of the event loop with huge pages,
 * 54-55 ms without (fresh pages fault in), and added 20 MB of external memory to what drives its
 * collections. Below it the copy is cheaper than the round trip of giving the mail back.
 */
export const HAND_OVER_FROM_BYTES = 256 * 1024;

/** Whether `raw` can be moved to a thread: large, and the whole of an ArrayBuffer (not shared, not Node's pool). */
function canHandOver(raw: Buffer): boolean {
  return (
    raw.length >= HAND_OVER_FROM_BYTES &&
    raw.byteOffset === 0 &&
    raw.byteLength === raw.buffer.byteLength &&
    raw.buffer instanceof ArrayBuffer
  );
}

/** What `parseOwned` answers: the raw mail to use from now on, and the mail or why it could not be read. */
export type OwnedParse =
  { mail: ParsedMail; rawSha256: string; raw: Buffer } | { error: unknown; rawSha256?: string; raw: Buffer };

/**
 * A parse thread ended (crashed, or was stopped at shutdown) while it held a raw mail handed over
 * to it: the bytes are gone from this process. Nothing was stored; the way in answers "retry
 * later" (503, SMTP 451, the IMAP message stays) so that the sender sends it again.
 */
export class ParseThreadLostError extends Error {
  override readonly name = 'ParseThreadLostError';
  readonly code = 'PARSE_THREAD_LOST';

  constructor(cause: unknown) {
    super(`the parse thread ended before it gave the raw mail back: ${(cause as Error)?.message ?? cause}`, { cause });
  }
}

/**
 * The channel on which a parse thread gives a handed-over raw mail back (parse-worker.ts): `port`
 * goes to the thread with the task; `received()` resolves with the mail, or with undefined once
 * the thread's end of the channel closed without it (the thread ended).
 */
class GiveBack {
  readonly port: MessagePort;
  private readonly mine: MessagePort;
  private readonly answer: Promise<Buffer | undefined>;

  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.mine = port1;
    this.port = port2;
    this.answer = new Promise((resolve) => {
      port1.once('message', (raw: Uint8Array) => resolve(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)));
      port1.once('close', () => resolve(undefined));
    });
  }

  received(): Promise<Buffer | undefined> {
    return this.answer;
  }

  close(): void {
    this.mine.close();
  }
}

/** How long a mail may wait for a parse thread to start (load mailparser) before its deadline runs. */
const THREAD_START_MS = 30_000;

/**
 * The built worker, dist/src/inbound-mail/parser/parse-worker.js: beside this file in the build;
 * under Jest, which runs src/ as ESM without `__dirname`, the one `npm run build` wrote in dist/
 * of the working directory. Throws when it is missing: mail is never parsed on the event loop.
 */
export function parseWorkerFile(): string {
  const file =
    typeof __dirname === 'string'
      ? path.join(__dirname, 'parse-worker.js')
      : path.resolve('dist/src/inbound-mail/parser/parse-worker.js');
  if (!fs.existsSync(file)) {
    throw new Error(`the mail parser's worker ${file} does not exist: run \`npm run build\` first`);
  }
  return file;
}

/**
 * Parses raw mail on worker threads (piscina), never on the event loop: `parseMail` of
 * ./parse-mail.ts runs in ./parse-worker.ts. One thread per core (MAIL_PARSE_WORKERS to change),
 * started with the first mail. Each mail has a wall-clock deadline (MAIL_PARSE_TIMEOUT_MS) from the
 * moment a thread takes it; past it the thread is terminated (piscina's abort) and replaced, and
 * the mail fails with a `timeout` MailParseError. Its threads are stopped at application shutdown,
 * after the modules' destroy hooks (the IMAP poller finishes its message there, through this pool).
 */
@Injectable()
export class ParsePool implements OnApplicationShutdown {
  private readonly file: string;
  private readonly threads: number;
  private readonly timeoutMs: number;
  /** Mails handed to a thread, one unit each: at most one per thread (see `parseHashed`). */
  private readonly slots: ByteBudget;
  private pool: Piscina | undefined;
  private closed = false;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.file = parseWorkerFile();
    this.threads = config.mail.parseWorkers || defaultParseThreads();
    this.timeoutMs = config.mail.parseTimeoutMs;
    this.slots = new ByteBudget(this.threads);
  }

  /** Parses one raw mail; throws MailParseError (a `timeout` one past the deadline) or a thread's failure. */
  async parse(raw: Buffer): Promise<ParsedMail> {
    return (await this.parseHashed(raw)).mail;
  }

  /**
   * Parses one raw mail and hashes it on the same thread (its hex SHA-256); a MailParseError
   * carries the hash too when the thread got that far (not past a deadline). `raw` stays the
   * caller's (the thread gets a copy).
   */
  async parseHashed(raw: Buffer): Promise<{ mail: ParsedMail; rawSha256: string }> {
    const parsed = await this.parseOwned(raw, { handOver: false });
    if ('error' in parsed) throw parsed.error;
    return parsed;
  }

  /**
   * Parses one raw mail that the caller hands over: a large one that fills its own ArrayBuffer
   * (HAND_OVER_FROM_BYTES) is moved to the parse thread, not copied on the event loop, and comes
   * back before the thread starts parsing (the thread copies it on its own, niced, time); the
   * caller must read it only through the answer's `raw` from then on (the Buffer it passed is
   * detached). Never throws for the mail's sake: the answer holds the mail or the error (a
   * MailParseError, a `timeout` one past the deadline, or the thread's failure), the hash when the
   * thread got that far, and the raw mail. Throws ParseThreadLostError only when a thread ended
   * while it held the raw mail (the caller answers "retry later", nothing is stored).
   */
  async parseOwned(raw: Buffer, options: { handOver: boolean } = { handOver: true }): Promise<OwnedParse> {
    await this.slots.acquire(1);
    try {
      return await this.run(raw, options.handOver && canHandOver(raw));
    } finally {
      this.slots.release(1);
    }
  }

  /** The piscina threads' ids (for tests: a thread past its deadline is replaced by a new one). */
  threadIds(): number[] {
    return (this.pool?.threads ?? []).map((t) => t.threadId);
  }

  /** Stops the threads (a parse still running fails); later calls to `parse` throw. */
  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    const pool = this.pool;
    this.pool = undefined;
    await pool?.destroy();
  }

  private async run(raw: Buffer, handOver: boolean): Promise<OwnedParse> {
    // Not handed over, the raw mail goes as a copy in an ArrayBuffer of its own, transferred: `raw`
    // may be a view of a larger buffer, which structured cloning would copy whole, and the caller
    // keeps `raw` (the blob store, or the quarantine past a deadline, take it). Not shared memory:
    // V8 frees a SharedArrayBuffer only once every thread that saw it collected its heap, and the
    // event loop collects seldom while large mail streams in (bench:hostile: +1.7 GB in 30 s of
    // 20 MB mails). Made once this mail has a thread: at most one copy per parse thread.
    const sent: Uint8Array<ArrayBuffer> = handOver ? (raw as Buffer<ArrayBuffer>) : await copyInSlices(raw);
    // Checked after the copy's slices: the pool may have closed meanwhile (shutdown).
    if (this.closed) throw new Error('the mail parser pool is closed');
    const pool = (this.pool ??= new Piscina({
      filename: this.file,
      minThreads: 1,
      maxThreads: this.threads,
      idleTimeout: IDLE_THREAD_MS,
      niceIncrement: PARSE_THREAD_NICE,
      resourceLimits: { maxYoungGenerationSizeMb: PARSE_THREAD_YOUNG_MB },
    }));
    const started = new Float64Array(new SharedArrayBuffer(8));
    const back = handOver ? new GiveBack() : undefined;
    const task: ParseTask = { raw: sent, started: started.buffer, ...(back ? { giveBack: back.port } : {}) };
    const deadline = new AbortController();
    const timer = this.armDeadline(started, deadline);
    let outcome: ParseOutcome | undefined;
    let error: unknown;
    try {
      outcome = (await pool.run(task, {
        transferList: back ? [sent.buffer, back.port] : [sent.buffer],
        signal: deadline.signal,
      })) as ParseOutcome;
    } catch (e) {
      error = deadline.signal.aborted
        ? new MailParseError('timeout', `parsing took longer than ${this.timeoutMs} ms`, { cause: e })
        : e;
    } finally {
      clearTimeout(timer.current);
    }
    // The raw mail: the caller's (a copy went), never sent (the task left the queue before a
    // thread took it), or given back by the thread (it posts it before it writes `started`, so a
    // deadline, which runs from then, never kills a thread that still holds it).
    const own = back && raw.byteLength === 0 ? await back.received() : raw;
    back?.close();
    if (!own) throw new ParseThreadLostError(error);
    if (outcome?.ok) return { mail: reviveParsedMail(outcome.mail), rawSha256: outcome.rawSha256, raw: own };
    if (outcome) {
      const parseError = new MailParseError(outcome.code, outcome.message);
      parseError.rawSha256 = outcome.rawSha256;
      return { error: parseError, rawSha256: outcome.rawSha256, raw: own };
    }
    return { error, raw: own };
  }

  /**
   * Aborts the task `timeoutMs` after the thread took it (the time it wrote in `started`): a thread
   * that is still starting (after a terminated one) does not eat into the mail's deadline, for up
   * to THREAD_START_MS.
   */
  private armDeadline(started: Float64Array, deadline: AbortController): { current: NodeJS.Timeout } {
    const queued = Date.now();
    const timeoutMs = this.timeoutMs;
    const check = (): void => {
      const now = Date.now();
      const waited = now - queued;
      if (!started[0] && waited < THREAD_START_MS) {
        // Not on a thread yet (one is starting): look again later.
        timer.current = setTimeout(check, Math.min(timeoutMs, THREAD_START_MS - waited));
        return;
      }
      const due = (started[0] || queued + THREAD_START_MS) + timeoutMs;
      if (now >= due) deadline.abort();
      else timer.current = setTimeout(check, due - now);
    };
    const timer = { current: setTimeout(check, timeoutMs) };
    return timer;
  }
}
