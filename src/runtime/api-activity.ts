/**
 * HTTP requests in flight in this process, so that background work can step aside for them on the
 * embedded database (yieldToApi). There the whole of MailDesk (the API, the IMAP import, the
 * outbox, PostgreSQL itself on its thread) shares the process's CPU: on 2 cores an import of 1,000
 * mails made logins (argon2 on libuv's threads) take over twice their idle time and pushed lists
 * past 100 ms at p99, although no request waited for the database connection (PriorityPool).
 * Process-wide on purpose: the CPU is.
 */
let inFlight = 0;
let whenIdle: { promise: Promise<void>; resolve: () => void } | null = null;

/** How long one unit of background work waits at most for the API: it slows down, never stops. */
export const YIELD_MAX_MS = 50;

/** Counts a request from its arrival; the returned function ends it (idempotent). */
export function apiRequestStarted(): () => void {
  inFlight++;
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    inFlight--;
    if (inFlight === 0 && whenIdle) {
      whenIdle.resolve();
      whenIdle = null;
    }
  };
}

const ends = new WeakMap<object, () => void>();

/**
 * Counts the request of response `res` (apiRequestStarted) until its connection is done with it,
 * answered or aborted. app.ts calls it for every request.
 */
export function trackApiRequest(res: { once(event: 'close', listener: () => void): unknown }): void {
  const end = apiRequestStarted();
  ends.set(res, end);
  res.once('close', end);
}

/**
 * Stops counting the request of `res` while its connection stays open: a live event stream
 * (GET /events/stream) is open for hours and waits, it is no work background jobs should step aside for.
 */
export function apiRequestDetached(res: object): void {
  ends.get(res)?.();
}

/** HTTP requests in flight right now. */
export function apiRequestsInFlight(): number {
  return inFlight;
}

/**
 * Resolves at once when no HTTP request is in flight; else when none is, or after `maxMs`.
 * Background loops await it before each unit of work (an imported mail, a sent mail) on the
 * embedded database.
 */
export async function yieldToApi(maxMs = YIELD_MAX_MS): Promise<void> {
  if (inFlight === 0) return;
  if (!whenIdle) {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    whenIdle = { promise, resolve };
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([whenIdle.promise, new Promise<void>((r) => (timer = setTimeout(r, maxMs)))]);
  clearTimeout(timer);
}
