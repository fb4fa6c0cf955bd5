import type { FastifyInstance } from 'fastify';
import { PinoLogger } from 'nestjs-pino';
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
 * Fastify, with a child logger and response listeners per request: a fifth of the app's CPU for a
 * list call (BENCHMARKS.md).
 */
export function registerRequestLog(fastify: FastifyInstance, logger: PinoLogger): void {
  fastify.addHook('preHandler', (request, _reply, done) => {
    logger.runInContext(done, { bindings: { requestId: request.id } });
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    const root = PinoLogger.root;
    const status = reply.statusCode;
    const level = status >= 500 ? 'error' : 'info';
    if (root?.isLevelEnabled(level) && !QUIET_PATHS.test(request.url)) {
      const url = redactUrl(request.url);
      root[level](
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
