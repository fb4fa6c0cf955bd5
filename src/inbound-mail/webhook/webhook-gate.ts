import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { contentEncodingOf, type RequestWithRawBody } from '../../common/body-parsers';
import { FixedWindowCounter } from '../../common/rate-limit';
import type { AppConfig } from '../../config/config';
import { inboundTokenValid, TOKEN_REQUIRED } from './inbound-token.guard';
import { SIGNATURE_HEADER, signatureHeaderProblem, signatureProblem, TIMESTAMP_HEADER } from './webhook-signature';

/** Seconds a caller refused for saturation is asked to wait. */
export const SATURATED_RETRY_AFTER_SECONDS = 1;

/** One admitted call's share of the in-flight budget; `release` is idempotent. */
export interface InFlightTicket {
  /** Sets the bytes the call holds (its body, once read). */
  resize(bytes: number): void;
  release(): void;
}

/**
 * A bounded number of calls and of body bytes in flight at once. A call reserves its bytes when it
 * is admitted (before its body is read); one call is always admitted when none is in flight, so a
 * single body up to the size limit never waits forever.
 */
export class InFlightLimiter {
  private calls = 0;
  private bytes = 0;

  constructor(
    readonly maxCalls: number,
    readonly maxBytes: number,
  ) {}

  /** Calls and bytes in flight now. */
  get usage(): { calls: number; bytes: number } {
    return { calls: this.calls, bytes: this.bytes };
  }

  /** A ticket for a call that will hold `bytes`, or null when it does not fit now. */
  tryAcquire(bytes: number): InFlightTicket | null {
    if (this.calls > 0 && (this.calls >= this.maxCalls || this.bytes + bytes > this.maxBytes)) return null;
    this.calls++;
    this.bytes += bytes;
    let held = bytes;
    let released = false;
    return {
      resize: (next: number) => {
        if (released) return;
        this.bytes += next - held;
        held = next;
      },
      release: () => {
        if (released) return;
        released = true;
        this.calls--;
        this.bytes -= held;
      },
    };
  }
}

/** What the webhook gate needs to know besides the configuration. */
/** The client address a gate counts calls and failures by. */
export function clientAddress(request: FastifyRequest): string {
  return request.ip ?? request.socket?.remoteAddress ?? 'unknown';
}

/** A gate's refusal, in the API's error shape, with `Retry-After` when given. */
export function refuseCall(
  request: FastifyRequest,
  reply: FastifyReply,
  statusCode: number,
  message: string,
  retryAfter?: number,
): FastifyReply {
  if (retryAfter !== undefined) reply.header('Retry-After', String(retryAfter));
  return reply.code(statusCode).send({
    statusCode,
    error: STATUS_CODES[statusCode] ?? 'Error',
    message,
    requestId: request.id,
  });
}

/**
 * Holds `bytes` of the in-flight bound for a call until its answer is sent or its connection is
 * gone (`close` comes for either); null once the 503 (with Retry-After) is sent when the desk is full.
 */
export function holdInFlight(
  limiter: InFlightLimiter,
  bytes: number,
  request: FastifyRequest,
  reply: FastifyReply,
): InFlightTicket | null {
  const ticket = limiter.tryAcquire(bytes);
  if (!ticket) {
    refuseCall(
      request,
      reply,
      503,
      'the desk is receiving as much mail as it can take; nothing was stored, retry shortly',
      SATURATED_RETRY_AFTER_SECONDS,
    );
    return null;
  }
  reply.raw.once('close', () => ticket.release());
  return ticket;
}

export interface WebhookGateOptions {
  /** Route templates of the webhook (`/inbound/mail`, ...). */
  paths: readonly string[];
  /** Body size limits of the webhook: raw MIME and JSON (bytes after decompression). */
  rawLimit: number;
  jsonLimit: number;
}

const TICKET = Symbol('maildesk.webhookTicket');
const AUTHENTICATED = Symbol('maildesk.webhookAuthenticated');
type GatedRequest = RequestWithRawBody & { [TICKET]?: InFlightTicket; [AUTHENTICATED]?: boolean };

const header = (request: FastifyRequest, name: string): string | undefined => {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * The webhook's front door, run in Fastify's onRequest hook, so before its body is read,
 * decompressed or parsed:
 *
 * 1. WEBHOOK_RATE_LIMIT (off by default): every call per client address per minute, else 429.
 * 2. The token (Bearer or `?token=`): without a valid one, 401, and the call counts against
 *    WEBHOOK_FAILURE_RATE_LIMIT for its address; past it, 429 with Retry-After.
 * 3. An address whose authenticated calls failed (4xx) WEBHOOK_FAILURE_RATE_LIMIT times this minute
 *    gets 429 until the minute ends.
 * 4. With INBOUND_HMAC_SECRET, the signature headers must be there and fresh (401); the signature
 *    itself is checked by the body parser over the bytes as sent, before decompression and parsing.
 * 5. Backpressure: at most INBOUND_MAX_IN_FLIGHT authenticated calls, holding at most
 *    INBOUND_MAX_IN_FLIGHT_BYTES of bodies (Content-Length, or the size limit when compressed or
 *    chunked), are received or ingested at once; beyond, 503 with Retry-After. The slot is freed
 *    when the answer is sent or the connection closes.
 *
 * Every refusal is in the API's error shape. Returns the limiter (for tests and metrics).
 */
export function registerWebhookGate(
  fastify: FastifyInstance,
  config: AppConfig,
  options: WebhookGateOptions,
): InFlightLimiter {
  const paths = new Set(options.paths);
  const calls = new FixedWindowCounter();
  const failures = new FixedWindowCounter();
  const limiter = new InFlightLimiter(config.inbound.maxInFlight, config.inbound.maxInFlightBytes);
  const isWebhook = (request: FastifyRequest) => paths.has(request.routeOptions.url ?? '');

  /** The bytes a call will hold: its Content-Length when sent as is, else the most it may inflate to. */
  const reservation = (request: FastifyRequest): number => {
    const json = /^\s*application\/json/i.test(header(request, 'content-type') ?? '');
    const limit = json ? options.jsonLimit : options.rawLimit;
    const length = Number(header(request, 'content-length'));
    if (contentEncodingOf(request) === 'identity' && Number.isFinite(length) && length >= 0) {
      return Math.min(length, limit);
    }
    return limit;
  };

  /** The 429 of an address past its failure quota (with or without a valid token). */
  const tooManyFailures = (request: GatedRequest, reply: FastifyReply, wait: number) =>
    refuseCall(
      request,
      reply,
      429,
      `too many failed webhook calls from this address (${config.rateLimit.webhookFailuresPerMinute} per minute); retry later`,
      wait,
    );
  /** Refuses the call (and returns the reply) or admits it (undefined). */
  const check = (request: GatedRequest, reply: FastifyReply): FastifyReply | undefined => {
    const client = clientAddress(request);
    const perMinute = config.rateLimit.webhookPerMinute;
    const failureLimit = config.rateLimit.webhookFailuresPerMinute;
    if (perMinute) {
      const wait = calls.hit(client, perMinute, 60_000);
      if (wait) {
        return refuseCall(
          request,
          reply,
          429,
          `too many webhook calls from this address (${perMinute} per minute); retry later`,
          wait,
        );
      }
    }
    if (!inboundTokenValid(request.headers, request.query, config.inbound.token)) {
      const wait = failureLimit ? failures.hit(`anonymous:${client}`, failureLimit, 60_000) : 0;
      if (wait) {
        return tooManyFailures(request, reply, wait);
      }
      return refuseCall(request, reply, 401, TOKEN_REQUIRED);
    }
    request[AUTHENTICATED] = true;
    if (failureLimit) {
      const wait = failures.peek(`authenticated:${client}`, failureLimit);
      if (wait) {
        return tooManyFailures(request, reply, wait);
      }
    }
    if (config.inbound.hmacSecret) {
      const problem = signatureHeaderProblem(header(request, TIMESTAMP_HEADER), header(request, SIGNATURE_HEADER));
      if (problem) return refuseCall(request, reply, 401, problem);
    }
    const ticket = holdInFlight(limiter, reservation(request), request, reply);
    if (!ticket) return reply;
    request[TICKET] = ticket;
    return undefined;
  };

  // Callback-style hooks: no promise per call on the other routes.
  fastify.addHook('onRequest', (request: GatedRequest, reply, done) => {
    if (isWebhook(request) && check(request, reply)) return;
    done();
  });

  // Calls with the token whose credentials still fail (a bad or stale signature: 401, 403) count
  // against the address's failure quota. A body the desk refuses (400, 413, 415) does not: it is
  // the sender's data, not a guess at a secret, and an authenticated sender's volume is bounded by
  // the in-flight limits (503), not by a quota that a bulk import with a few oversized mails trips.
  fastify.addHook('onResponse', (request: GatedRequest, reply, done) => {
    request[TICKET]?.release();
    const failureLimit = config.rateLimit.webhookFailuresPerMinute;
    const status = reply.statusCode;
    if (failureLimit && request[AUTHENTICATED] && (status === 401 || status === 403)) {
      failures.hit(`authenticated:${clientAddress(request)}`, failureLimit, 60_000);
    }
    done();
  });

  return limiter;
}

/** The body parsers' hooks for the webhook: the signature check and the in-flight byte count. */
export function webhookBodyHooks(config: AppConfig): {
  webhookSignature: (request: FastifyRequest) => ((body: Buffer) => string | null) | undefined;
  webhookBodyRead: (request: FastifyRequest, bytes: number) => void;
} {
  return {
    webhookSignature: (request) => {
      const secret = config.inbound.hmacSecret;
      if (!secret) return undefined;
      const timestamp = header(request, TIMESTAMP_HEADER);
      const signature = header(request, SIGNATURE_HEADER);
      return (body) => signatureProblem(secret, timestamp, signature, body);
    },
    webhookBodyRead: (request, bytes) => (request as GatedRequest)[TICKET]?.resize(bytes),
  };
}
