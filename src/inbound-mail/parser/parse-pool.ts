import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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
   * carries the hash too when the thread got that far (not past a deadline).
   */
  async parseHashed(raw: Buffer): Promise<{ mail: ParsedMail; rawSha256: string }> {
    await this.slots.acquire(1);
    try {
      const outcome = await this.run(raw);
      if (!outcome.ok) {
        const error = new MailParseError(outcome.code, outcome.message);
        error.rawSha256 = outcome.rawSha256;
        throw error;
      }
      return { mail: reviveParsedMail(outcome.mail), rawSha256: outcome.rawSha256 };
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

  private async run(raw: Buffer): Promise<ParseOutcome> {
    // The raw mail goes as a copy in an ArrayBuffer of its own, transferred: `raw` may be a view of
    // a larger buffer, which structured cloning would copy whole, and the caller keeps `raw` (the
    // blob store, or the quarantine past a deadline, take it). Not shared memory: V8 frees a
    // SharedArrayBuffer only once every thread that saw it collected its heap, and the event loop
    // collects seldom while large mail streams in (bench:hostile: +1.7 GB in 30 s of 20 MB mails).
    // Made once this mail has a thread: at most one copy per parse thread.
    const copy = await copyInSlices(raw);
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
    const deadline = new AbortController();
    const timer = this.armDeadline(started, deadline);
    try {
      return (await pool.run({ raw: copy, started: started.buffer } satisfies ParseTask, {
        transferList: [copy.buffer],
        signal: deadline.signal,
      })) as ParseOutcome;
    } catch (e) {
      if (deadline.signal.aborted) {
        throw new MailParseError('timeout', `parsing took longer than ${this.timeoutMs} ms`, { cause: e });
      }
      throw e;
    } finally {
      clearTimeout(timer.current);
    }
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
