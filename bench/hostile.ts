import fc from 'fast-check';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as zlib from 'node:zlib';
import { extremeMails, mutate, mutations } from '../test/reliability/support/hostile';
import { AppProcess } from '../test/setup/app-process';
import { makeMail, planMails } from './emails';
import { call, CallResult, now, ProbeConfig, ProbeReport, Sample } from './hostile-probe';
import {
  BENCH_TOKEN,
  createDatabase,
  login,
  machine,
  main,
  pct,
  record,
  type Figure,
  rng,
  ROOT,
  round,
  rssOf,
  startApp,
} from './lib';
import { dataSet, postAll } from './webhook-ingest';

/**
 * `npm run bench:hostile`: hostile mail of every kind streamed through the authenticated webhook
 * while anonymous bombs (a gzip body inflating 1000x, a JSON body just under the limit with a
 * wrong token) hit it, against one app on a throwaway PostgreSQL database. Measures, against the
 * same calls on the same process idle: GET /health/live and GET /requests latency, the app's CPU
 * per hostile mail (per kind, each kind alone), its RSS, every hostile mail's outcome and answer
 * time against the parse deadline, and the bombs' answers. Bounded: every request has a timeout,
 * a stalled or dead server is reported, never waited for.
 */

function envNumber(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name}=${v}: expected a number >= 0`);
  return n;
}

const MiB = 1024 * 1024;
/** Seconds of hostile stream (0: bounded by BENCH_HOSTILE_ROUNDS only). */
const STREAM_SECONDS = envNumber('BENCH_HOSTILE_SECONDS', 60);
/** Rounds (one mail of every kind) of hostile stream at most (0: bounded by BENCH_HOSTILE_SECONDS only). */
const ROUNDS = envNumber('BENCH_HOSTILE_ROUNDS', 0);
const IDLE_SECONDS = envNumber('BENCH_HOSTILE_IDLE_SECONDS', 15);
/** Hostile mails in flight at once during the stream. */
const LANES = Math.max(1, envNumber('BENCH_HOSTILE_CONCURRENCY', 2));
/** Mails of each kind sent alone (one after another, no other load but the probes) to measure CPU per kind. */
const CPU_MAILS = envNumber('BENCH_HOSTILE_CPU_MAILS', 2);
/** Ordinary mails stored before the idle measurement, so GET /requests lists a real page. */
const SEED_MAILS = envNumber('BENCH_HOSTILE_SEED_MAILS', 500);
/** The deadline of a hostile mail's answer: the server's parse timeout. */
const DEADLINE_MS = envNumber('MAIL_PARSE_TIMEOUT_MS', 10_000);
/** Past this a hostile mail's request is abandoned and recorded as a `timeout` failure. */
const MAIL_TIMEOUT_MS = envNumber('BENCH_HOSTILE_TIMEOUT_MS', Math.max(30_000, 3 * DEADLINE_MS));
const PROBE_TIMEOUT_MS = envNumber('BENCH_PROBE_TIMEOUT_MS', 5_000);
const HEALTH_EVERY_MS = Math.max(1, envNumber('BENCH_HEALTH_EVERY_MS', 50));
const REQUESTS_EVERY_MS = Math.max(1, envNumber('BENCH_REQUESTS_EVERY_MS', 100));
/** One gzip bomb every this many ms during the stream (0: none). */
const GZIP_BOMB_EVERY_MS = envNumber('BENCH_BOMB_GZIP_EVERY_MS', 500);
/** One JSON bomb every this many ms during the stream (0: none). */
const JSON_BOMB_EVERY_MS = envNumber('BENCH_BOMB_JSON_EVERY_MS', 2_000);
const BOMB_TIMEOUT_MS = envNumber('BENCH_BOMB_TIMEOUT_MS', 15_000);
/** INBOUND_MAX_BYTES of the app: BENCH_INBOUND_MAX_BYTES is passed to it, else its default (25 MB). */
const INBOUND_MAX_BYTES = envNumber('BENCH_INBOUND_MAX_BYTES', 25 * MiB);
/** The webhook's JSON limit as src/app.ts derives it from INBOUND_MAX_BYTES. */
const JSON_LIMIT = Math.ceil(INBOUND_MAX_BYTES * 1.4) + 64 * 1024;
const JSON_BOMB_BYTES = envNumber('BENCH_BOMB_JSON_BYTES', JSON_LIMIT - 4096);
/** Only the kinds whose name contains one of these (separated by `|`, case-insensitive). */
const KIND_FILTER = (process.env.BENCH_HOSTILE_KINDS ?? '')
  .split('|')
  .map((s) => s.trim().toLowerCase())
  .filter(Boolean);

const TARGETS = { requestsP99Ratio: 3, healthMaxMs: 250, rssDeltaMb: 150 };

// ---------------------------------------------------------------------------------------------
// Hostile mail generators: one mail per call, `n` makes its Message-ID (and whatever is cheap) differ.

export interface HostileKind {
  name: string;
  make: (n: number) => Buffer;
}

const RUN = Date.now().toString(36);
const CRLF = '\r\n';

function lazy<T>(f: () => T): () => T {
  let v: T | undefined;
  let made = false;
  return () => {
    if (!made) {
      v = f();
      made = true;
    }
    return v as T;
  };
}

const mid = (slug: string, n: number) => `${slug}-${n}-${RUN}@hostile.bench`;

/**
 * The head of a hostile mail; `from` is the whole From line (or another header in its place), by
 * default a sender of its own per mail (each opens a request, as many attackers would).
 */
const head = (id: string, extra: string, from = `From: Hostile Sender <${id.split('@')[0]}@customer.test>\r\n`) =>
  `${from}To: MailDesk Support <support@desk.test>\r\nDate: Sun, 06 Dec 2026 12:00:00 +0000\r\nMessage-ID: <${id}>\r\nMIME-Version: 1.0\r\n${extra}`;

const TEXT = 'Content-Type: text/plain; charset=utf-8\r\n';

/**
 * `raw` with the Message-ID `id` instead of its own (kept with a NUL when it had one), or, when it
 * has none, with the id appended as a last line (its bytes, hence its SHA-256 dedupe key, differ).
 */
export function varyMessageId(raw: Buffer, id: string): Buffer {
  const at = raw.indexOf('Message-ID: <');
  const end = at < 0 ? -1 : raw.indexOf('>', at);
  if (at < 0 || end < 0) return Buffer.concat([raw, Buffer.from(`${CRLF}${id}${CRLF}`, 'latin1')]);
  const nul = raw.subarray(at, end).includes(0);
  return Buffer.concat([
    raw.subarray(0, at + 13),
    Buffer.from(nul ? `nul-\u0000-${id}` : id, 'latin1'),
    raw.subarray(end),
  ]);
}

/** Bytes of a deterministic pseudo-random sequence. */
function noise(length: number, seed: number): Buffer {
  const r = rng(seed);
  const out = Buffer.alloc(length);
  for (let i = 0; i + 4 <= length; i += 4) out.writeUInt32LE(Math.floor(r() * 4294967296), i);
  return out;
}

export function hostileKinds(quotedIds: string[] = []): HostileKind[] {
  const ticketSubject = lazy(() => Array.from({ length: 6000 }, (_, i) => `[#${i + 1}]`).join(''));
  const headerLines = lazy(() =>
    Array.from({ length: 5000 }, (_, i) => `X-Hostile-${i}: header line ${i}\r\n`).join(''),
  );
  const deep = lazy(() => {
    let body = 'Content-Type: text/plain\r\n\r\ninnermost\r\n';
    for (let i = 999; i >= 0; i--)
      body = `Content-Type: multipart/mixed; boundary="d${i}"\r\n\r\n--d${i}\r\n${body}\r\n--d${i}--\r\n`;
    return body;
  });
  const flat = lazy(
    () =>
      'Content-Type: multipart/mixed; boundary="f"\r\n\r\n' +
      Array.from({ length: 10_000 }, (_, i) => `--f\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('') +
      '--f--\r\n',
  );
  const tinyAttachments = lazy(
    () =>
      'Content-Type: multipart/mixed; boundary="t"\r\n\r\n--t\r\n' +
      TEXT +
      '\r\n2,000 attachments follow\r\n' +
      Array.from(
        { length: 2000 },
        (_, i) =>
          `--t\r\nContent-Type: application/octet-stream; name="tiny-${i}.bin"\r\n` +
          `Content-Disposition: attachment; filename="tiny-${i}.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n` +
          `${Buffer.from([i & 0xff, i >> 8, 7]).toString('base64')}\r\n`,
      ).join('') +
      '--t--\r\n',
  );
  // 20 MB in all: one base64 line of pseudo-random bytes.
  const hugeLine = lazy(() => Buffer.from(noise(Math.floor(((20 * MiB - 1024) * 3) / 4), 16).toString('base64')));
  const extremes = extremeMails();
  const seedPlan = lazy(() => planMails(64, 16, 7));

  const kinds: HostileKind[] = [
    {
      name: 'charset hints: 6,000 encoded words',
      make: (n) => {
        const words = Array.from(
          { length: 6000 },
          (_, i) => `=?iso-8859-1:${String(n * 6000 + i).padStart(4, '0')}?Q?=E9=E9?=`,
        );
        return Buffer.from(head(mid('charset', n), `Subject: ${words.join('\r\n ')}\r\n${TEXT}`) + '\r\nhello\r\n');
      },
    },
    {
      name: 'subject [#1]..[#6000]',
      make: (n) => Buffer.from(head(mid('tickets', n), `Subject: ${ticketSubject()}\r\n${TEXT}`) + '\r\nhello\r\n'),
    },
    {
      name: 'References: 10,000 ids',
      make: (n) => {
        const refs = Array.from({ length: 10_000 }, (_, i) => `<ref-${i}-${n}-${RUN}@hostile.bench>`).join('\r\n ');
        return Buffer.from(
          head(mid('refs', n), `Subject: many references\r\nReferences: ${refs}\r\n${TEXT}`) + '\r\nhello\r\n',
        );
      },
    },
    {
      name: '5,000 header lines',
      make: (n) =>
        Buffer.from(head(mid('headers', n), `Subject: many headers\r\n${headerLines()}${TEXT}`) + '\r\nhello\r\n'),
    },
    {
      name: 'multipart nested 1,000 deep',
      make: (n) => Buffer.from(head(mid('deep', n), 'Subject: deep\r\n') + deep()),
    },
    {
      name: 'multipart 10,000 flat parts',
      make: (n) => Buffer.from(head(mid('flat', n), 'Subject: flat\r\n') + flat()),
    },
    {
      name: '2,000 tiny attachments',
      make: (n) => Buffer.from(head(mid('tiny', n), 'Subject: tiny attachments\r\n') + tinyAttachments()),
    },
    {
      name: 'no From (Sender only)',
      make: (n) =>
        Buffer.from(
          head(
            mid('sender-only', n),
            `Subject: no from ${n}\r\n${TEXT}`,
            'Sender: Only Sender <sender-only@customer.test>\r\n',
          ) + '\r\nwho am I?\r\n',
        ),
    },
    {
      name: '20 MB single-line base64',
      make: (n) =>
        Buffer.concat([
          Buffer.from(
            head(
              mid('huge-line', n),
              'Subject: huge line\r\nContent-Type: application/octet-stream; name="huge.bin"\r\n' +
                'Content-Disposition: attachment; filename="huge.bin"\r\nContent-Transfer-Encoding: base64\r\n',
            ) + '\r\n',
          ),
          hugeLine(),
          Buffer.from(CRLF),
        ]),
    },
    {
      name: 'bounce from mailer-daemon',
      make: (n) => {
        const quoted = quotedIds.length ? quotedIds[n % quotedIds.length] : `sent-${n}@desk.test`;
        return Buffer.from(
          head(
            mid('bounce', n),
            'Subject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n' +
              'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n',
            'From: Mail Delivery System <MAILER-DAEMON@mx.customer.test>\r\n',
          ) +
            '\r\n--r\r\nContent-Type: text/plain\r\n\r\nThis is the mail system. Your message could not be delivered.\r\n' +
            '--r\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.customer.test\r\n\r\n' +
            'Final-Recipient: rfc822; gone@customer.test\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n' +
            '--r\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: MailDesk Support <support@desk.test>\r\n' +
            `To: gone@customer.test\r\nSubject: Re: your request\r\nMessage-ID: <${quoted}>\r\n\r\n--r--\r\n`,
        );
      },
    },
    ...extremes.map((m, i) => ({
      name: `hostile.ts: ${m.name}`,
      make: (n: number) => varyMessageId(m.raw, mid(`extreme${i}`, n)),
    })),
    {
      name: 'hostile.ts: mutated real mail',
      make: (n) => {
        const base = makeMail(seedPlan(), n % 64, `mutated-${n}-${RUN}`).raw;
        const muts = fc.sample(mutations, { seed: 1000 + n, numRuns: 1 })[0];
        return muts.reduce(mutate, base);
      },
    },
  ];
  return KIND_FILTER.length ? kinds.filter((k) => KIND_FILTER.some((f) => k.name.toLowerCase().includes(f))) : kinds;
}

/**
 * The glibc allocator settings (`MALLOC_*`, `GLIBC_TUNABLES`) the image's runtime stage sets (docker/Dockerfile's
 * ENV), so the app here runs with the allocator it has in production; none when it sets none.
 */
export function imageMallocEnv(file = path.join(ROOT, 'docker', 'Dockerfile')): Record<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  const runtime = text
    .slice(Math.max(0, text.search(/^FROM .* AS runtime$/im)))
    .split('\n')
    .filter((line) => !line.trim().startsWith('#'))
    .join('\n');
  return Object.fromEntries(
    [...runtime.matchAll(/\b(MALLOC_[A-Z_]+|GLIBC_TUNABLES)=(\S+)/g)].map((m) => [m[1], m[2].replace(/\s*\\$/, '')]),
  );
}

/** Kinds whose mail is at least this large are built once per lane before the stream (largeTemplates). */
const TEMPLATE_FROM_BYTES = 1 * MiB;
/** The `n` a template is built with: 8 digits, overwritten in place with each mail's own. */
const TEMPLATE_N = 99_999_999;

/**
 * For each kind whose mail is large, one mail built now with a placeholder `n` and a function that
 * writes a mail's own `n` (8 digits, in its Message-ID) into that same buffer and returns it: the
 * stream then sends distinct mails (their Message-IDs and hashes differ) without building them
 * during its window. A lane owns its templates (it sends one mail at a time).
 */
export function largeTemplates(kinds: HostileKind[]): Map<string, (n: number) => Buffer> {
  const out = new Map<string, (n: number) => Buffer>();
  const marker = Buffer.from(`-${TEMPLATE_N}-${RUN}@`, 'latin1');
  for (const kind of kinds) {
    const raw = kind.make(TEMPLATE_N);
    const at = raw.length >= TEMPLATE_FROM_BYTES ? raw.indexOf(marker) : -1;
    if (at < 0 || raw.indexOf(marker, at + 1) >= 0) continue;
    out.set(kind.name, (n) => {
      raw.write(String(n).padStart(8, '0'), at + 1, 'latin1');
      return raw;
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The app process, read from /proc.

const CLK_TCK = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time from /proc/<pid>/stat (utime + stime), ms; NaN once the process is gone. */
let lastCpuMs = NaN;

/** CPU time (user + system, all threads) the process used so far, ms; once it is gone, the last reading. */
export function cpuMs(pid: number): number {
  const ms = readCpuMs(pid);
  if (Number.isFinite(ms)) lastCpuMs = ms;
  return Number.isFinite(ms) ? ms : lastCpuMs;
}

function readCpuMs(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
  } catch {
    return NaN;
  }
}

function rssNow(pid: number): { rss: number; peak: number } {
  try {
    return rssOf(pid);
  } catch {
    return { rss: NaN, peak: NaN };
  }
}

// ---------------------------------------------------------------------------------------------
// Outcomes.

const HANDLED = new Set(['created', 'appended', 'quarantined', 'ignored', 'duplicate']);

export interface MailOutcome {
  kind: string;
  phase: 'alone' | 'stream';
  n: number;
  bytes: number;
  /** HTTP status, 0 for no answer. */
  status: number;
  /** results[0].status of a 200 answer. */
  result?: string;
  reason?: string;
  error?: string;
  ms: number;
  at: number;
  /** Stored or quarantined (or refused whole with 413 when larger than INBOUND_MAX_BYTES, by design). */
  handled: boolean;
  /** Handled within the deadline. */
  ok: boolean;
}

function outcomeOf(kind: string, phase: MailOutcome['phase'], n: number, bytes: number, r: CallResult): MailOutcome {
  let result: string | undefined;
  let reason: string | undefined;
  if (r.status === 200) {
    try {
      const b = JSON.parse(r.body) as { results?: Array<{ status?: string; reason?: string | null }> };
      result = b.results?.[0]?.status;
      reason = b.results?.[0]?.reason ?? undefined;
    } catch {
      /* not JSON: not handled */
    }
  }
  const handled =
    (r.status === 200 && !!result && HANDLED.has(result)) || (r.status === 413 && bytes > INBOUND_MAX_BYTES);
  return {
    kind,
    phase,
    n,
    bytes,
    status: r.status,
    ...(result ? { result } : {}),
    ...(reason ? { reason: reason.slice(0, 200) } : {}),
    ...(r.error ? { error: r.error } : {}),
    ms: round(r.ms),
    at: r.at,
    handled,
    ok: handled && r.ms <= DEADLINE_MS,
  };
}

/** `created`, `quarantined`, `413 (over INBOUND_MAX_BYTES)`, `timeout`, `HTTP 500`... */
function label(o: MailOutcome): string {
  if (o.result) return o.result;
  if (o.status === 413 && o.handled) return '413 (over INBOUND_MAX_BYTES)';
  if (o.status) return `HTTP ${o.status}`;
  return o.error ?? 'no answer';
}

export interface BombOutcome {
  type: 'gzip' | 'json';
  auth: 'none' | 'wrong';
  status: number;
  ms: number;
  at: number;
  error?: string;
}

// ---------------------------------------------------------------------------------------------
// Statistics over a time window.

interface Window {
  start: number;
  end: number;
}

/** The samples sent in the window. */
function within(samples: Sample[], w: Window): Sample[] {
  return samples.filter((s) => s[0] >= w.start && s[0] < w.end);
}

/** The samples in flight at some time in the window (a probe the window's work delayed, sent before it). */
function overlapping(samples: Sample[], w: Window): Sample[] {
  return samples.filter((s) => s[0] < w.end && s[0] + s[1] >= w.start);
}

interface LatencyStats {
  n: number;
  failed: number;
  p50: number;
  p99: number;
  max: number;
  errors?: Record<string, number>;
}

function latency(samples: Sample[]): LatencyStats {
  const ms = samples.map((s) => s[1]);
  const failed = samples.filter((s) => s[2] !== 200);
  const errors: Record<string, number> = {};
  for (const s of failed) errors[s[3] ?? `HTTP ${s[2]}`] = (errors[s[3] ?? `HTTP ${s[2]}`] ?? 0) + 1;
  return {
    n: samples.length,
    failed: failed.length,
    p50: round(pct(ms, 50)),
    p99: round(pct(ms, 99)),
    max: round(ms.length ? Math.max(...ms) : NaN),
    ...(failed.length ? { errors } : {}),
  };
}

const countBy = <T>(items: T[], key: (t: T) => string): Record<string, number> =>
  items.reduce<Record<string, number>>((acc, t) => ((acc[key(t)] = (acc[key(t)] ?? 0) + 1), acc), {});

/** Prints rows as an aligned text table. */
function table(rows: Array<Array<string | number>>): void {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0].map((_, c) => Math.max(...cells.map((r) => (r[c] ?? '').length)));
  cells.forEach((r, i) => {
    console.log(
      r
        .map((v, c) => v.padEnd(widths[c]))
        .join('  ')
        .trimEnd(),
    );
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
}

// ---------------------------------------------------------------------------------------------
// The run.

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startProber(cfg: ProbeConfig): { stop: () => Promise<ProbeReport | undefined> } {
  const worker = new Worker(path.join(__dirname, 'hostile-probe.js'), { workerData: cfg });
  let report: ProbeReport | undefined;
  let failure: Error | undefined;
  const answered = new Promise<void>((resolve) => {
    worker.once('message', (m: ProbeReport) => {
      report = m;
      resolve();
    });
    worker.once('error', (e) => {
      failure = e;
      resolve();
    });
    worker.once('exit', () => resolve());
  });
  return {
    async stop() {
      worker.postMessage('stop');
      // Every probe has a timeout: the report comes within it unless the thread itself broke.
      await Promise.race([answered, sleep(cfg.timeoutMs + 10_000)]);
      await worker.terminate();
      if (failure) console.error(`prober thread failed: ${failure.message}`);
      return report;
    },
  };
}

/** Sends bombs at a steady rate until stopped; at most 4 of a type in flight (the rest are counted as skipped). */
function startBombs(base: string): {
  stop: () => Promise<{ results: BombOutcome[]; skipped: Record<string, number> }>;
} {
  const results: BombOutcome[] = [];
  const skipped = { gzip: 0, json: 0 };
  const inFlight = { gzip: 0, json: 0 };
  const pending = new Set<Promise<void>>();
  // 36 MB of zeros: about 36 KB gzipped.
  const gzipBody = zlib.gzipSync(Buffer.alloc(36 * MiB), { level: 9 });
  // A valid JSON body of the webhook's shape, just under its limit.
  const jsonBody = Buffer.alloc(JSON_BOMB_BYTES, 'A');
  jsonBody.write('{"raw":"', 0, 'latin1');
  jsonBody.write('"}', JSON_BOMB_BYTES - 2, 'latin1');
  console.log(
    `bombs: gzip ${round(gzipBody.length / 1024)} KB -> ${36 * 1024} KB every ${GZIP_BOMB_EVERY_MS} ms, ` +
      `JSON ${round(JSON_BOMB_BYTES / MiB)} MB (limit ${round(JSON_LIMIT / MiB)} MB) every ${JSON_BOMB_EVERY_MS} ms`,
  );
  let count = 0;
  const fire = (type: 'gzip' | 'json') => {
    if (inFlight[type] >= 4) {
      skipped[type]++;
      return;
    }
    inFlight[type]++;
    const auth: BombOutcome['auth'] = type === 'gzip' && count++ % 2 === 0 ? 'none' : 'wrong';
    const headers: Record<string, string> = {
      'content-type': type === 'gzip' ? 'message/rfc822' : 'application/json',
      ...(type === 'gzip' ? { 'content-encoding': 'gzip' } : {}),
      ...(auth === 'wrong' ? { authorization: 'Bearer wrong-token-0123456789abcdef' } : {}),
    };
    const p = call({
      base,
      method: 'POST',
      path: '/inbound/mail',
      headers,
      body: type === 'gzip' ? gzipBody : jsonBody,
      timeoutMs: BOMB_TIMEOUT_MS,
      agent: false,
    }).then((r) => {
      inFlight[type]--;
      pending.delete(p);
      results.push({ type, auth, status: r.status, ms: round(r.ms), at: r.at, ...(r.error ? { error: r.error } : {}) });
    });
    pending.add(p);
  };
  const timers = [
    ...(GZIP_BOMB_EVERY_MS > 0 ? [setInterval(() => fire('gzip'), GZIP_BOMB_EVERY_MS)] : []),
    ...(JSON_BOMB_EVERY_MS > 0 ? [setInterval(() => fire('json'), JSON_BOMB_EVERY_MS)] : []),
  ];
  return {
    async stop() {
      timers.forEach(clearInterval);
      await Promise.all(pending);
      return { results, skipped };
    },
  };
}

/** SIGTERM, then SIGKILL after 20 s; says which stopped it. */
async function stopApp(app: AppProcess): Promise<string> {
  const t0 = performance.now();
  const stopped = await Promise.race([app.stop().then(() => true), sleep(20_000).then(() => false)]);
  if (stopped) return `SIGTERM, ${Math.round(performance.now() - t0)} ms`;
  console.warn('the app did not stop within 20 s of SIGTERM: killed');
  await app.kill();
  return 'SIGKILL (no exit within 20 s of SIGTERM)';
}

export async function hostileBench(): Promise<Record<string, unknown>> {
  if (!STREAM_SECONDS && !ROUNDS)
    throw new Error('BENCH_HOSTILE_SECONDS and BENCH_HOSTILE_ROUNDS are both 0: unbounded');
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  const seedMails = SEED_MAILS
    ? dataSet(SEED_MAILS, Math.max(1, Math.ceil(SEED_MAILS / 5)), `hostile-seed-${RUN}`)
    : [];
  const kinds = hostileKinds(seedMails.slice(0, 50).map((m) => m.messageId));
  if (!kinds.length) throw new Error(`BENCH_HOSTILE_KINDS=${process.env.BENCH_HOSTILE_KINDS} matches no kind`);
  console.log(`building ${kinds.length} kinds of hostile mail...`);
  const sizes = Object.fromEntries(kinds.map((k) => [k.name, k.make(0).length]));

  const db = await createDatabase('bench_hostile');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'maildesk-bench-'));
  const outcomes: MailOutcome[] = [];
  const windows: Record<string, Window> = {};
  const kindWindows: Record<string, Window> = {};
  const cpu: Record<string, { ms: number; seconds: number; mails: number }> = {};
  const rss = { idle: NaN, idlePeak: NaN, sampledPeak: 0, sampledPeakStream: 0, hwmEnd: NaN, end: NaN };
  let died: { code: number | null; signal: string | null; at: number; phase: string; log: string } | undefined;
  let phase = 'start';
  let probes: ProbeReport | undefined;
  let bombs: { results: BombOutcome[]; skipped: Record<string, number> } = { results: [], skipped: {} };
  let appLogTail: string | undefined;
  let stoppedBy = '';
  const setupErrors: string[] = [];
  let app: AppProcess | undefined;
  try {
    app = await startApp({
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      LOG_LEVEL: 'log',
      ...(process.env.BENCH_INBOUND_MAX_BYTES ? { INBOUND_MAX_BYTES: String(INBOUND_MAX_BYTES) } : {}),
      ...(process.env.MAIL_PARSE_TIMEOUT_MS ? { MAIL_PARSE_TIMEOUT_MS: String(DEADLINE_MS) } : {}),
      // The allocator's settings of the image (docker/Dockerfile): the app runs as deployed.
      ...imageMallocEnv(),
      // Any other setting of the app for an experiment: BENCH_APP_ENV="MAIL_PARSE_WORKERS=1 FOO=bar".
      ...Object.fromEntries(
        (process.env.BENCH_APP_ENV ?? '')
          .split(/\s+/)
          .filter(Boolean)
          .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      ),
    });
    const running = app;
    const pid = running.proc.pid!;
    running.proc.once('exit', (code, signal) => {
      if (phase === 'stopping') return;
      died = { code, signal, at: now(), phase, log: running.output().slice(-4000) };
      console.error(`\n!!! the app exited (code ${code}, signal ${signal}) during the ${phase} phase`);
    });
    const alive = () => !died;
    const malloc = Object.entries(imageMallocEnv()).map(([k, v]) => `${k}=${v}`);
    console.log(`app: pid ${pid}, ${running.base}, database ${db.name}; ${malloc.join(' ') || 'glibc defaults'}`);

    // A server that fails here is reported like one that fails later (the probes then fail too).
    if (seedMails.length) {
      console.log(`seeding ${seedMails.length} ordinary mails...`);
      await postAll(running.base, seedMails, 8).catch((e: Error) => {
        setupErrors.push(`seeding: ${e.message.slice(0, 500)}`);
        console.error(`seeding failed: ${e.message.slice(0, 500)}`);
      });
    }
    const token = await login(running.base).catch((e: Error) => {
      setupErrors.push(`login: ${e.message.slice(0, 500)}`);
      console.error(`login failed (GET /requests will fail): ${e.message.slice(0, 500)}`);
      return '';
    });
    const prober = startProber({
      hostileProbe: true,
      base: running.base,
      token,
      healthEveryMs: HEALTH_EVERY_MS,
      requestsEveryMs: REQUESTS_EVERY_MS,
      timeoutMs: PROBE_TIMEOUT_MS,
    });
    const sampler = setInterval(() => {
      cpuMs(pid);
      const r = rssNow(pid).rss;
      if (!(r > 0)) return;
      if (phase !== 'idle' && phase !== 'start') rss.sampledPeak = Math.max(rss.sampledPeak, r);
      if (phase === 'stream') rss.sampledPeakStream = Math.max(rss.sampledPeakStream, r);
    }, 100);
    try {
      // Idle: the same probes, nothing else.
      await sleep(2000);
      phase = 'idle';
      console.log(`idle: ${IDLE_SECONDS} s of probes only...`);
      let c0 = cpuMs(pid);
      windows.idle = { start: now(), end: 0 };
      await sleep(IDLE_SECONDS * 1000);
      windows.idle.end = now();
      cpu.idle = { ms: cpuMs(pid) - c0, seconds: (windows.idle.end - windows.idle.start) / 1000, mails: 0 };
      const idleRss = rssNow(pid);
      rss.idle = idleRss.rss;
      rss.idlePeak = idleRss.peak;
      const idleCpuPerSecond = cpu.idle.ms / cpu.idle.seconds;

      // Each kind alone: CPU per mail of that kind (less the idle CPU of the probes over the time).
      if (CPU_MAILS > 0) {
        phase = 'alone';
        console.log(`each kind alone: ${CPU_MAILS} mail(s) of each of ${kinds.length} kinds, one at a time...`);
        windows.alone = { start: now(), end: 0 };
        let timeoutsInARow = 0;
        for (const kind of kinds) {
          if (!alive()) break;
          if (timeoutsInARow >= 3) {
            console.log(`  ${kind.name}: skipped (the server stalled: ${timeoutsInARow} timeouts in a row)`);
            continue;
          }
          const w: Window = { start: now(), end: 0 };
          c0 = cpuMs(pid);
          for (let k = 0; k < CPU_MAILS && alive(); k++) {
            const raw = kind.make(k + 1);
            const r = await postRaw(running.base, raw);
            const o = outcomeOf(kind.name, 'alone', k + 1, raw.length, r);
            outcomes.push(o);
            console.log(`  ${kind.name}: ${label(o)} in ${o.ms} ms (${round(raw.length / 1024)} KB)`);
            // A hang costs MAIL_TIMEOUT_MS: one per kind is enough to know it.
            timeoutsInARow = r.error === 'timeout' ? timeoutsInARow + 1 : 0;
            if (r.error === 'timeout') break;
          }
          w.end = now();
          const seconds = (w.end - w.start) / 1000;
          cpu[kind.name] = {
            // /proc counts CPU in ticks (10 ms): a light kind can come out slightly below the idle rate.
            ms: Math.max(0, cpuMs(pid) - c0 - idleCpuPerSecond * seconds),
            seconds,
            mails: outcomes.filter((o) => o.kind === kind.name).length,
          };
          kindWindows[kind.name] = w;
        }
        windows.alone.end = now();
      }

      // The stream: LANES hostile mails at a time, every kind in turn, bombs in parallel.
      if (alive()) {
        phase = 'stream';
        const bounds = [STREAM_SECONDS ? `${STREAM_SECONDS} s` : '', ROUNDS ? `${ROUNDS} rounds` : ''].filter(Boolean);
        console.log(`stream: ${LANES} lanes of hostile mail for ${bounds.join(' or ')}, bombs in parallel...`);
        // The large mails are built before the measured window, one copy per lane, each sent with
        // its own Message-ID written in place (see largeTemplates): building 20-28 MB per mail in
        // this process took CPU from the same two cores as the app's during the window.
        const templates = Array.from({ length: LANES }, () => largeTemplates(kinds));
        const bomber = startBombs(running.base);
        windows.stream = { start: now(), end: 0 };
        c0 = cpuMs(pid);
        const own0 = process.cpuUsage();
        const until = performance.now() + STREAM_SECONDS * 1000;
        let next = 0;
        const sent: Record<string, number> = {};
        await Promise.all(
          templates.map(async (own) => {
            while (
              alive() &&
              (!STREAM_SECONDS || performance.now() < until) &&
              (!ROUNDS || next < ROUNDS * kinds.length)
            ) {
              const kind = kinds[next++ % kinds.length];
              const n = 1000 + (sent[kind.name] = (sent[kind.name] ?? 0) + 1);
              const raw = own.get(kind.name)?.(n) ?? kind.make(n);
              const r = await postRaw(running.base, raw);
              const o = outcomeOf(kind.name, 'stream', n, raw.length, r);
              outcomes.push(o);
              if (!o.ok) console.log(`  stream: ${kind.name}: ${label(o)} in ${o.ms} ms`);
            }
          }),
        );
        const streamMails = outcomes.filter((o) => o.phase === 'stream').length;
        console.log(`stream: ${streamMails} hostile mails sent; waiting for the bombs in flight...`);
        bombs = await bomber.stop();
        windows.stream.end = now();
        cpu.stream = {
          ms: cpuMs(pid) - c0,
          seconds: (windows.stream.end - windows.stream.start) / 1000,
          mails: streamMails,
        };
        const own = process.cpuUsage(own0);
        cpu.bench = { ms: round((own.user + own.system) / 1000), seconds: cpu.stream.seconds, mails: streamMails };
      }
      phase = 'end';
      const end = rssNow(pid);
      rss.end = end.rss;
      rss.hwmEnd = end.peak;
    } finally {
      clearInterval(sampler);
      probes = await prober.stop();
    }
    appLogTail = running.output().slice(-4000);
  } finally {
    phase = 'stopping';
    if (app) stoppedBy = await stopApp(app);
    await db.drop().catch((e: Error) => console.warn(`could not drop ${db.name}: ${e.message}`));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }

  // ---- figures
  const health = (w?: Window) => latency(w && probes ? within(probes.health, w) : []);
  const requests = (w?: Window) => latency(w && probes ? within(probes.requests, w) : []);
  const idle = { health: health(windows.idle), requests: requests(windows.idle) };
  const hostile = { health: health(windows.stream), requests: requests(windows.stream) };
  const alone = { health: health(windows.alone), requests: requests(windows.alone) };
  const ratio = hostile.requests.p99 / idle.requests.p99;
  // VmHWM is exact; it only says something about the hostile phases when it grew after the idle one.
  const hwmHostile = rss.hwmEnd > rss.idlePeak ? rss.hwmEnd : 0;
  const rssPeak = round(Math.max(rss.sampledPeak, hwmHostile));
  const rssDelta = round(rssPeak - rss.idle);

  const perKind = kinds.map((k) => {
    const os_ = outcomes.filter((o) => o.kind === k.name);
    const ms = os_.map((o) => o.ms);
    const c = cpu[k.name];
    const w = kindWindows[k.name];
    return {
      kind: k.name,
      bytes: sizes[k.name],
      sent: os_.length,
      outcomes: countBy(os_, label),
      ok: os_.filter((o) => o.ok).length,
      p50Ms: round(pct(ms, 50)),
      maxMs: round(ms.length ? Math.max(...ms) : NaN),
      cpuMsPerMail: c && c.mails ? round(c.ms / c.mails) : null,
      // The probes in flight during the kind's mails, and the one sent next (a blocked loop delays it).
      healthMaxAloneMs:
        w && probes ? latency(overlapping(probes.health, { start: w.start, end: w.end + HEALTH_EVERY_MS })).max : null,
    };
  });
  const streamOutcomes = outcomes.filter((o) => o.phase === 'stream');
  const allOk = outcomes.length > 0 && outcomes.every((o) => o.ok);
  const maxAnswer = round(outcomes.length ? Math.max(...outcomes.map((o) => o.ms)) : NaN);
  const bombSummary = (['gzip', 'json'] as const).map((type) => {
    const rs = bombs.results.filter((b) => b.type === type);
    return {
      type,
      sent: rs.length,
      skipped: bombs.skipped[type] ?? 0,
      statuses: countBy(rs, (b) => (b.status ? String(b.status) : (b.error ?? 'no answer'))),
      p50Ms: round(
        pct(
          rs.map((b) => b.ms),
          50,
        ),
      ),
      maxMs: round(rs.length ? Math.max(...rs.map((b) => b.ms)) : NaN),
    };
  });
  const bombsAll401 = bombs.results.length > 0 && bombs.results.every(refusedUnread);
  const healthMax = hostile.health.max;
  const targets = {
    requestsP99: {
      target: `hostile p99 <= ${TARGETS.requestsP99Ratio}x idle`,
      value:
        `${hostile.requests.p99} / ${idle.requests.p99} ms = ${round(ratio, 2)}x` +
        (hostile.requests.failed ? `, ${hostile.requests.failed} failed` : ''),
      met: ratio <= TARGETS.requestsP99Ratio && hostile.requests.failed === 0,
    },
    healthMax: {
      target: `max /health/live <= ${TARGETS.healthMaxMs} ms`,
      value: `${healthMax} ms` + (hostile.health.failed ? `, ${hostile.health.failed} failed` : ''),
      met: healthMax <= TARGETS.healthMaxMs && hostile.health.failed === 0 && (probes?.skipped.health ?? 0) === 0,
    },
    mails: {
      target: `every hostile mail stored or quarantined within ${DEADLINE_MS} ms`,
      value: `${outcomes.filter((o) => o.ok).length}/${outcomes.length} in time, max ${maxAnswer} ms`,
      met: allOk,
    },
    rss: {
      target: `RSS peak - idle <= ${TARGETS.rssDeltaMb} MB`,
      value: `${rss.idle} -> ${rssPeak} MB (+${rssDelta})`,
      met: rssDelta <= TARGETS.rssDeltaMb,
    },
    bombs: {
      target: 'anonymous bombs refused unread: 401/429 or cut off (never 413/5xx)',
      value: bombSummary.map((b) => `${b.type}: ${JSON.stringify(b.statuses)}`).join('; '),
      met: bombsAll401,
    },
    alive: {
      target: 'the app stays up',
      value: died ? `died in ${died.phase}: code ${died.code} ${died.signal ?? ''}` : 'up',
      met: !died,
    },
  };

  const result = {
    scenario: 'hostile input',
    startedAt: startedAt.toISOString(),
    seconds: round((Date.now() - startedAt.getTime()) / 1000),
    machine: await machine(),
    load: { before: loadBefore.map((l) => round(l, 2)), after: os.loadavg().map((l) => round(l, 2)) },
    label: process.env.BENCH_LABEL ?? null,
    config: {
      streamSeconds: STREAM_SECONDS,
      rounds: ROUNDS,
      idleSeconds: IDLE_SECONDS,
      lanes: LANES,
      cpuMailsPerKind: CPU_MAILS,
      seedMails: SEED_MAILS,
      deadlineMs: DEADLINE_MS,
      mailTimeoutMs: MAIL_TIMEOUT_MS,
      probeTimeoutMs: PROBE_TIMEOUT_MS,
      healthEveryMs: HEALTH_EVERY_MS,
      requestsEveryMs: REQUESTS_EVERY_MS,
      gzipBombEveryMs: GZIP_BOMB_EVERY_MS,
      jsonBombEveryMs: JSON_BOMB_EVERY_MS,
      jsonBombBytes: JSON_BOMB_BYTES,
      inboundMaxBytes: INBOUND_MAX_BYTES,
      kinds: kinds.map((k) => k.name),
    },
    targets,
    latency: { idle, alone, hostile, probesSkipped: probes?.skipped, benchLoopDelay: probes?.ownLoopDelay },
    cpu: {
      idleMsPerSecond: cpu.idle ? round(cpu.idle.ms / cpu.idle.seconds) : null,
      streamMsPerMail: cpu.stream?.mails ? round(cpu.stream.ms / cpu.stream.mails) : null,
      streamMsPerMailNote:
        'app CPU over the whole stream (bombs and probes included) / hostile mails answered or failed',
      stream: cpu.stream,
      benchOwnStream: cpu.bench ?? null,
    },
    rss: { ...rss, peak: rssPeak, delta: rssDelta },
    perKind,
    bombs: bombSummary,
    died: died ?? null,
    setupErrors,
    stoppedBy,
    mails: outcomes,
    bombResults: bombs.results,
    // Every probe [start epoch ms, ms, status, error?]: which mails were in flight when one was slow.
    probes: probes ? { health: probes.health, requests: probes.requests } : null,
    appLogTail: died ? died.log : (appLogTail ?? '').slice(-1500),
  };

  // ---- files and tables
  const dir = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `hostile-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, JSON.stringify(result, null, 2) + '\n');

  console.log(
    `\n== hostile input: ${result.machine}, load ${result.load.before.join('/')} -> ${result.load.after.join('/')}`,
  );
  console.log(
    `stream: ${streamOutcomes.length} hostile mails in ${round(cpu.stream?.seconds ?? 0)} s, ${bombs.results.length} bombs\n`,
  );
  table([
    ['', 'idle', 'hostile', 'ratio'],
    [
      'GET /requests p50 ms',
      idle.requests.p50,
      hostile.requests.p50,
      round(hostile.requests.p50 / idle.requests.p50, 2),
    ],
    ['GET /requests p99 ms', idle.requests.p99, hostile.requests.p99, round(ratio, 2)],
    ['GET /requests failed', idle.requests.failed, hostile.requests.failed, ''],
    ['GET /health/live p99 ms', idle.health.p99, hostile.health.p99, ''],
    ['GET /health/live max ms', idle.health.max, hostile.health.max, ''],
    ['GET /health/live failed', idle.health.failed, hostile.health.failed, ''],
    ['RSS MB (idle / peak)', rss.idle, rssPeak, `+${rssDelta} MB`],
  ]);
  console.log(
    `(each kind alone: /health/live max ${alone.health.max} ms, /requests p99 ${alone.requests.p99} ms; bench's own loop delay p99 ${round(probes?.ownLoopDelay.p99 ?? NaN)} ms)\n`,
  );
  table([
    [
      'hostile kind',
      'KB',
      'sent',
      'outcomes',
      `max ms (deadline ${DEADLINE_MS})`,
      'in time',
      'CPU ms/mail',
      'health max alone',
    ],
    ...perKind.map((k) => [
      k.kind,
      round(k.bytes / 1024),
      k.sent,
      Object.entries(k.outcomes)
        .map(([s, n]) => `${s} x${n}`)
        .join(', '),
      k.maxMs,
      `${k.ok}/${k.sent}${k.ok === k.sent && k.sent ? '' : ' NOT met'}`,
      k.cpuMsPerMail ?? '',
      k.healthMaxAloneMs ?? '',
    ]),
  ]);
  console.log(
    `CPU per hostile mail over the stream (bombs and probes included): ${result.cpu.streamMsPerMail} ms; idle ${result.cpu.idleMsPerSecond} ms/s; ` +
      `the bench's own CPU over the stream: ${result.cpu.benchOwnStream?.ms ?? '?'} ms\n`,
  );
  table([
    ['bomb', 'sent', 'skipped', 'answers', 'p50 ms', 'max ms'],
    ...bombSummary.map((b) => [
      b.type === 'gzip'
        ? 'gzip 36 KB -> 36 MB, no/wrong token'
        : `JSON ${round(JSON_BOMB_BYTES / MiB)} MB, wrong token`,
      b.sent,
      b.skipped,
      Object.entries(b.statuses)
        .map(([s, n]) => `${s} x${n}`)
        .join(', '),
      b.p50Ms,
      b.maxMs,
    ]),
  ]);
  console.log('');
  table([
    ['target', 'this run', ''],
    ...Object.values(targets).map((t) => [t.target, t.value, t.met ? 'met' : 'NOT met']),
  ]);
  if (setupErrors.length) console.log(`\nsetup errors: ${setupErrors.join('; ')}`);
  if (died) console.log(`\nthe app died; the end of its log:\n${died.log.slice(-2000)}`);
  console.log(`\nresult file: ${file}`);

  await record('hostile input', hostileFigures(result));
  return result;
}

/**
 * Refused before the body is read: 401 (no valid token), 429 (an address past its failure quota),
 * or the connection closed by the server while the client was still uploading (EPIPE/ECONNRESET:
 * the server answered and hung up without reading the rest). Never 413 (read), 5xx or a timeout.
 */
function refusedUnread(b: Pick<BombOutcome, 'status' | 'error'>): boolean {
  return b.status === 401 || b.status === 429 || (b.error !== undefined && /EPIPE|ECONNRESET/.test(b.error));
}

/** What hostileFigures reads of a run's result (the JSON file it writes to bench/results/). */
export interface HostileResult {
  latency: Record<'idle' | 'hostile', Record<'health' | 'requests', { p99: number; max: number; failed: number }>>;
  rss: { idle: number; peak: number; delta: number };
  mails: Array<{ ok: boolean; ms: number }>;
  bombResults: Array<Pick<BombOutcome, 'status' | 'error'>>;
  cpu: { streamMsPerMail: number | null };
  died: unknown;
}

/** A run's figures for bench/results/runs.csv, each target as TARGETS and DEADLINE_MS set it. */
export function hostileFigures(r: HostileResult): Figure[] {
  const { idle, hostile } = r.latency;
  const late = r.mails.filter((m) => !m.ok).length;
  return [
    { metric: 'requests_p99_idle_ms', value: idle.requests.p99 },
    { metric: 'requests_p99_hostile_ms', value: hostile.requests.p99 },
    {
      metric: 'requests_p99_ratio',
      value: round(hostile.requests.p99 / idle.requests.p99, 2),
      target: `<=${TARGETS.requestsP99Ratio}`,
    },
    { metric: 'probes_failed', value: hostile.requests.failed + hostile.health.failed, target: '<=0' },
    { metric: 'health_max_ms', value: hostile.health.max, target: `<=${TARGETS.healthMaxMs}` },
    { metric: 'mails', value: r.mails.length },
    { metric: 'mails_late', value: late, target: '<=0' },
    { metric: 'answer_max_ms', value: round(Math.max(...r.mails.map((m) => m.ms))) },
    { metric: 'rss_idle_mb', value: r.rss.idle },
    { metric: 'rss_peak_mb', value: r.rss.peak },
    { metric: 'rss_growth_mb', value: r.rss.delta, target: `<=${TARGETS.rssDeltaMb}` },
    { metric: 'bombs', value: r.bombResults.length },
    { metric: 'bombs_read', value: r.bombResults.filter((b) => !refusedUnread(b)).length, target: '<=0' },
    ...(r.cpu.streamMsPerMail === null ? [] : [{ metric: 'cpu_ms_per_mail', value: r.cpu.streamMsPerMail }]),
    { metric: 'app_died', value: r.died ? 1 : 0, target: '<=0' },
  ];
}

/**
 * POSTs one raw hostile mail to the webhook with the bench token, on a connection of its own (no
 * keep-alive race with the server's 5 s idle timeout); bounded by BENCH_HOSTILE_TIMEOUT_MS.
 */
function postRaw(base: string, raw: Buffer): Promise<CallResult> {
  return call({
    base,
    method: 'POST',
    path: '/inbound/mail',
    headers: { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'message/rfc822' },
    body: raw,
    timeoutMs: MAIL_TIMEOUT_MS,
    agent: false,
  });
}

main(typeof module === 'object' ? module : undefined, hostileBench);
