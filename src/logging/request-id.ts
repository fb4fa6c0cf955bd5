import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Header carrying the request id, in and out. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** An incoming id is kept when it is short and harmless in a log line and a header. */
const ACCEPTABLE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * The id of a request (Fastify's `genReqId`, so it is `request.id`, and the raw request's `id` the
 * log lines read): the caller's (or the proxy's) X-Request-Id when it is acceptable, else a new
 * UUID. app.ts echoes it in the X-Request-Id response header; the error answers carry it as
 * `requestId`.
 */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers[REQUEST_ID_HEADER];
  return typeof incoming === 'string' && ACCEPTABLE_ID.test(incoming) ? incoming : randomUUID();
}
