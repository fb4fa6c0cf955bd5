import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FixedWindowCounter } from '../../common/rate-limit';
import type { AppConfig } from '../../config/config';
import { inboundTokenValid, safeEqual } from '../webhook/inbound-token.guard';
import {
  clientAddress,
  holdInFlight,
  type InFlightLimiter,
  type InFlightTicket,
  refuseCall,
} from '../webhook/webhook-gate';

/** The providers' routes and how each is authenticated: the inbound token, or Mailgun's signature in the body. */
export const PROVIDER_ROUTES = {
  '/inbound/mailgun': 'signature',
  '/inbound/sendgrid': 'token',
  '/inbound/postmark': 'token',
} as const;

/** Route templates of the providers' webhooks. */
export const PROVIDER_PATHS = Object.keys(PROVIDER_ROUTES) as Array<keyof typeof PROVIDER_ROUTES>;

/** The message of a 401 for a missing or wrong token on a provider's route. */
export const PROVIDER_TOKEN_REQUIRED =
  'a valid inbound token is required (?token=<INBOUND_TOKEN>, or Basic auth with it as the password)';

/**
 * The largest body a provider's call may have: the mail (INBOUND_MAX_BYTES) as base64 in JSON or as
 * form fields and files, plus their framing.
 */
export function providerBodyLimit(config: AppConfig): number {
  return Math.ceil(config.mail.maxInboundBytes * 1.4) + 64 * 1024;
}

/** True where the call carries the inbound token: Bearer, `?token=`, or Basic auth with it as the password. */
export function providerTokenValid(
  headers: Record<string, string | string[] | undefined>,
  query: unknown,
  expected: string | undefined,
): boolean {
  if (inboundTokenValid(headers, query, expected)) return true;
  const authorization = typeof headers.authorization === 'string' ? headers.authorization : '';
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization)?.[1];
  if (!basic || !expected) return false;
  const decoded = Buffer.from(basic, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && safeEqual(decoded.slice(colon + 1), expected);
}

const TICKET = Symbol('maildesk.providerTicket');
const AUTHENTICATED = Symbol('maildesk.providerAuthenticated');
type GatedRequest = FastifyRequest & { [TICKET]?: InFlightTicket; [AUTHENTICATED]?: boolean };

/**
 * The providers' front door, in Fastify's onRequest hook, so before the body is read: the
 * webhook's limits (WEBHOOK_RATE_LIMIT, WEBHOOK_FAILURE_RATE_LIMIT per client address), the token
 * of SendGrid's and Postmark's routes (401 without it, counted as a failure), Mailgun's route
 * refused with 503 while MAILGUN_SIGNING_KEY is unset, and a share of the webhook's in-flight
 * bound (`limiter`: INBOUND_MAX_IN_FLIGHT, INBOUND_MAX_IN_FLIGHT_BYTES; 503 beyond). Mailgun's
 * signature is in the body: its refusals (406) count as failures of the address once answered.
 */
export function registerProviderGate(fastify: FastifyInstance, config: AppConfig, limiter: InFlightLimiter): void {
  const routes = PROVIDER_ROUTES as Record<string, 'signature' | 'token' | undefined>;
  const calls = new FixedWindowCounter();
  const failures = new FixedWindowCounter();
  const limit = providerBodyLimit(config);

  const reservation = (request: FastifyRequest): number => {
    const length = Number(request.headers['content-length']);
    return Number.isFinite(length) && length >= 0 && !request.headers['content-encoding']
      ? Math.min(length, limit)
      : limit;
  };

  const check = (request: GatedRequest, reply: FastifyReply, kind: 'signature' | 'token'): FastifyReply | undefined => {
    const client = clientAddress(request);
    const perMinute = config.rateLimit.webhookPerMinute;
    const failureLimit = config.rateLimit.webhookFailuresPerMinute;
    if (perMinute) {
      const wait = calls.hit(client, perMinute, 60_000);
      if (wait)
        return refuseCall(
          request,
          reply,
          429,
          `too many webhook calls from this address (${perMinute} per minute); retry later`,
          wait,
        );
    }
    const failed = failureLimit ? failures.peek(client, failureLimit) : 0;
    if (failed) {
      return refuseCall(
        request,
        reply,
        429,
        `too many failed webhook calls from this address (${failureLimit} per minute); retry later`,
        failed,
      );
    }
    if (kind === 'token') {
      if (!providerTokenValid(request.headers, request.query, config.inbound.token)) {
        if (failureLimit) failures.hit(client, failureLimit, 60_000);
        return refuseCall(request, reply, 401, PROVIDER_TOKEN_REQUIRED);
      }
      request[AUTHENTICATED] = true;
    } else if (!config.inbound.mailgunSigningKey) {
      return refuseCall(request, reply, 503, 'MAILGUN_SIGNING_KEY is not set: nothing was stored, Mailgun will retry');
    }
    const ticket = holdInFlight(limiter, reservation(request), request, reply);
    if (!ticket) return reply;
    request[TICKET] = ticket;
    return undefined;
  };

  fastify.addHook('onRequest', (request: GatedRequest, reply, done) => {
    const kind = routes[request.routeOptions.url ?? ''];
    if (kind && check(request, reply, kind)) return;
    done();
  });

  // A refused Mailgun signature (406 with the signature's message) counts as a failed credential.
  fastify.addHook('onResponse', (request: GatedRequest, reply, done) => {
    request[TICKET]?.release();
    const failureLimit = config.rateLimit.webhookFailuresPerMinute;
    if (failureLimit && routes[request.routeOptions.url ?? ''] === 'signature' && reply.statusCode === 406) {
      failures.hit(clientAddress(request), failureLimit, 60_000);
    }
    done();
  });
}
