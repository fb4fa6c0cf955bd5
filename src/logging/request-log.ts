import type { FastifyInstance } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
import type { Logger } from 'pino';
import { redactUrl } from './logger.module';

/** Requests not worth a log line each: probes and scrapes. */
const QUIET_PATHS = /^\/(health\/(live|ready)|metrics)(\?|$)/;

/**
 * The request log, on Fastify's own hooks:
 * - every line the app logs while handling a request carries its `requestId` (nestjs-pino's
 *   logging context, entered right before the handler, after the body is read);
 * - one line per request once the answer is sent: method, URL (token values redacted), client
 *   address (behind TRUST_PROXY's proxies, the client's), user agent, status and time in ms; at
 *   error level for a 5xx. Not for the health probes and the metrics scrape.
 *
 * nestjs-pino's own pino-http middleware did the same through middie, Nest's middleware layer on
 * Fastify, with a child logger and response listeners per request: middleware and line were a fifth
 * of the app's CPU for a list call; this takes 8% off the whole (docs/performance.md, "The request log
 * on Fastify's hooks").
 */
export function registerRequestLog(fastify: FastifyInstance, logger: PinoLogger): void {
  // The line is built here from fields that hold no secret (the URL's token values go through redactUrl):
  // logged without pino's redaction, which copied every line to look for the secret paths (a
  // twentieth of what a list call allocates).
  let lines: Logger | undefined;
  fastify.addHook('preHandler', (request, _reply, done) => {
    logger.runInContext(done, { bindings: { requestId: request.id } });
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    lines ??= PinoLogger.root?.child({}, { redact: [] });
    const status = reply.statusCode;
    const level = status >= 500 ? 'error' : 'info';
    if (lines?.isLevelEnabled(level) && !QUIET_PATHS.test(request.url)) {
      const url = redactUrl(request.url);
      lines[level](
        {
          requestId: request.id,
          req: {
            method: request.method,
            url,
            remoteAddress: request.ip,
            userAgent: request.headers['user-agent'],
          },
          res: { statusCode: status },
          responseTime: Math.round(reply.elapsedTime),
        },
        `${request.method} ${url} ${status}`,
      );
    }
    done();
  });
}
