import * as http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';

/** One HTTP exchange as the hostile bench sees it: never rejects, a hang is a `timeout` with its time. */
export interface CallResult {
  /** HTTP status, 0 when no answer came (refused, reset, timed out). */
  status: number;
  /** Milliseconds from sending to the end of the answer (or to the failure). */
  ms: number;
  /** Start, epoch milliseconds (comparable across threads). */
  at: number;
  /** The first 64 KB of the answer. */
  body: string;
  /** Why the exchange failed or was cut: `timeout`, ECONNREFUSED, EPIPE after an early answer, ... */
  error?: string;
}

export interface CallOptions {
  base: string;
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string | number>;
  body?: Buffer;
  timeoutMs: number;
  /** A keep-alive agent, or `false` for one connection per call. */
  agent?: http.Agent | false;
}

/** Epoch milliseconds with sub-millisecond precision, the same clock in every thread. */
export const now = (): number => performance.timeOrigin + performance.now();

/**
 * One request to 127.0.0.1, bounded by `timeoutMs`: resolves with the status and time whatever
 * happens (a server that stalls, resets or dies is a result, never a rejection or a hang). A server
 * that answers before it read the whole upload (then closes) counts as answered with that status.
 */
export function call(o: CallOptions): Promise<CallResult> {
  const url = new URL(o.path, o.base);
  const at = now();
  const t0 = performance.now();
  return new Promise((resolve) => {
    let status = 0;
    let done = false;
    let received = 0;
    const chunks: Buffer[] = [];
    const finish = (error?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const ms = performance.now() - t0;
      resolve({ status, ms, at, body: Buffer.concat(chunks).toString(), ...(error ? { error } : {}) });
    };
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      method: o.method,
      agent: o.agent ?? false,
      headers: { ...(o.body ? { 'content-length': o.body.length } : {}), ...o.headers },
    });
    const timer = setTimeout(() => {
      finish('timeout');
      req.destroy();
    }, o.timeoutMs);
    req.on('response', (res) => {
      status = res.statusCode ?? 0;
      res.on('data', (d: Buffer) => {
        if (received < 65536) chunks.push(d);
        received += d.length;
      });
      res.on('end', () => finish());
      res.on('aborted', () => finish('answer aborted'));
      res.on('error', (e: NodeJS.ErrnoException) => finish(e.code ?? e.message));
    });
    // EPIPE/ECONNRESET while uploading, after the server already answered and closed: that answer counts.
    req.on('error', (e: NodeJS.ErrnoException) => finish(status ? undefined : (e.code ?? e.message)));
    req.end(o.body);
  });
}

/** What the prober thread was asked to do. */
export interface ProbeConfig {
  hostileProbe: true;
  base: string;
  token: string;
  /** Interval between two GET /health/live (open loop: one is sent every interval, answered or not). */
  healthEveryMs: number;
  /** Interval between two GET /requests. */
  requestsEveryMs: number;
  timeoutMs: number;
}

/** A sample: start (epoch ms), duration (ms), status (0 = failed), error. */
export type Sample = [at: number, ms: number, status: number, error?: string];

export interface ProbeReport {
  health: Sample[];
  requests: Sample[];
  /** Calls not sent because more than the timeout allows were in flight (should stay 0). */
  skipped: { health: number; requests: number };
  /** This thread's own event-loop delay (ms): the noise floor of the figures it measured. */
  ownLoopDelay: { p99: number; max: number };
}

/**
 * The prober, on its own thread so that building and sending 20 MB mails on the bench's main
 * thread cannot delay a probe: GET /health/live and GET /requests at fixed intervals until told
 * `stop`, then it posts every sample.
 */
function runProber(cfg: ProbeConfig): void {
  // A connection per probe, as a load balancer's health check: a kept-alive socket the server
  // closed after its 5 s keep-alive timeout, reused at that moment, is an ECONNRESET of the client.
  const agent = false;
  const report: ProbeReport = {
    health: [],
    requests: [],
    skipped: { health: 0, requests: 0 },
    ownLoopDelay: { p99: 0, max: 0 },
  };
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const inFlight = new Set<Promise<unknown>>();
  const counts = { health: 0, requests: 0 };
  const every = (kind: 'health' | 'requests', ms: number, path: string, headers: Record<string, string>) =>
    setInterval(() => {
      // Every call ends within timeoutMs, so this many in flight only when the bench itself lags.
      if (counts[kind] >= Math.ceil(cfg.timeoutMs / ms) + 8) {
        report.skipped[kind]++;
        return;
      }
      counts[kind]++;
      const p = call({ base: cfg.base, method: 'GET', path, headers, timeoutMs: cfg.timeoutMs, agent }).then((r) => {
        counts[kind]--;
        inFlight.delete(p);
        report[kind].push(r.error ? [r.at, r.ms, r.status, r.error] : [r.at, r.ms, r.status]);
      });
      inFlight.add(p);
    }, ms);
  const timers = [
    every('health', cfg.healthEveryMs, '/health/live', {}),
    every('requests', cfg.requestsEveryMs, '/requests', { authorization: `Bearer ${cfg.token}` }),
  ];
  parentPort!.on('message', (m: string) => {
    if (m !== 'stop') return;
    timers.forEach(clearInterval);
    void Promise.all(inFlight).then(() => {
      loop.disable();
      report.ownLoopDelay = { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
      parentPort!.postMessage(report);
    });
  });
}

if (!isMainThread && (workerData as ProbeConfig | undefined)?.hostileProbe) runProber(workerData as ProbeConfig);
