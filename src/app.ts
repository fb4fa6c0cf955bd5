import { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { Logger as PinoNestLogger, PinoLogger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { registerBodyParsers } from './common/body-parsers';
import { AuthGuard } from './operators/auth.guard';
import { registerOperatorGate } from './operators/operator-gate';
import { InFlightLimiter, registerWebhookGate, webhookBodyHooks } from './inbound-mail/webhook/webhook-gate';
import { PROVIDER_PATHS, registerProviderGate } from './inbound-mail/providers/provider-gate';
import { API_HEADERS, DOCS_HEADERS, DOCS_PATH } from './common/security-headers';
import { setupSwagger } from './common/swagger';
import { QueryMemoValidationPipe } from './common/validation.pipe';
import type { AppConfig } from './config/config';
import { pinoLevel } from './logging/logger.module';
import { REQUEST_ID_HEADER, requestIdOf } from './logging/request-id';
import { registerRequestLog } from './logging/request-log';
import { registerHttpMetrics } from './metrics/http-metrics';
import { MetricsService } from './metrics/metrics.service';
import { trackApiRequest } from './runtime/api-activity';

/** Routes whose bodies may be whole emails: they get the inbound size limit and raw MIME parsing. */
export const WEBHOOK_PATHS = ['/inbound/mail', '/requests/webhook/email'];

/**
 * Routes whose body is read as bytes, bounded, whatever its content type: POST /inbound/ses (an SNS
 * message is at most 256 KiB; its Message is JSON inside JSON, escaped at most twice over, plus the
 * other fields: 576 KiB). Their credentials are inside the body (inbound-mail/ses/).
 */
export const BYTES_ROUTES: Readonly<Record<string, number>> = { '/inbound/ses': 2 * 256 * 1024 + 64 * 1024 };

/**
 * The one alias the router knows: API.md documents the Apps Script's webhook with a trailing slash
 * (`POST /requests/webhook/email/`), so that exact path is read as the route without it.
 */
const WEBHOOK_SLASH_ALIAS = /^\/requests\/webhook\/email\/(?=\?|$)/;

/** The URL the router matches: `url` as sent, but for the documented trailing-slash alias of the webhook. */
export function routedUrl(url: string): string {
  return url.replace(WEBHOOK_SLASH_ALIAS, '/requests/webhook/email');
}

/** Node's own keep-alive timeout (Fastify's default is 72 s): idle connections close as they did on Express. */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Node's own limit for receiving a whole request (Fastify's default is none). */
const REQUEST_TIMEOUT_MS = 300_000;

/** One route the HTTP server serves: method and path as registered (`/requests/:id`). */
export interface ServedRoute {
  method: string;
  path: string;
}
const servedRoutes = new WeakMap<object, ServedRoute[]>();

/** Every route the Fastify instance of `app` registered (Nest's, Swagger UI's, ReDoc's), HEAD twins included. */
export function routesServed(app: INestApplication): ServedRoute[] {
  return servedRoutes.get(app.getHttpAdapter().getInstance() as object) ?? [];
}

const webhookLimiters = new WeakMap<object, InFlightLimiter>();

/** The webhook's in-flight bound of `app` (INBOUND_MAX_IN_FLIGHT, INBOUND_MAX_IN_FLIGHT_BYTES): calls and bytes held now. */
export function webhookInFlight(app: INestApplication): InFlightLimiter | undefined {
  return webhookLimiters.get(app.getHttpAdapter().getInstance() as object);
}

/**
 * Builds the configured Nest application (not yet listening) on Fastify: used by main.ts and by
 * the tests, so both run the same pipes, filters, body limits and Swagger. A caller that does not
 * `listen()` must `await app.init()` and then the Fastify instance's `ready()` before serving.
 */
export async function createApp(
  config: AppConfig,
  databaseUrl: string,
  logger?: LogLevel[] | false,
): Promise<INestApplication> {
  const adapter = new FastifyAdapter({
    // Only the proxies named in TRUST_PROXY may set the client address by X-Forwarded-For.
    trustProxy: config.trustProxy === false ? false : config.trustProxy,
    // Every request gets its id first (logs, error answers, X-Request-Id).
    genReqId: requestIdOf,
    // Strict routes: the letter case and a trailing slash matter (`/METRICS`, `/auth/login/` are
    // 404), so a proxy's exact-path rules (nginx/maildesk.conf) cover every path the app serves; the
    // one documented alias is rewritten first (routedUrl). A route parameter may be as long as the URL.
    routerOptions: { ignoreTrailingSlash: false, caseSensitive: true, maxParamLength: 16 * 1024 },
    rewriteUrl: (request: { url?: string }) => routedUrl(request.url ?? '/'),
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    // The router refuses a malformed URL (400) before any hook runs: answered in the API's error
    // shape with the same headers as every other answer.
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      const statusCode = error.statusCode && error.statusCode >= 400 ? error.statusCode : 400;
      void reply
        .code(statusCode)
        .headers(API_HEADERS)
        .header(REQUEST_ID_HEADER, request.id)
        .send({
          statusCode,
          error: STATUS_CODES[statusCode] ?? 'Error',
          message: error.message,
          requestId: request.id,
        });
    },
  });
  const fastify = adapter.getInstance<FastifyInstance>();
  const routes: ServedRoute[] = [];
  servedRoutes.set(fastify, routes);
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) routes.push({ method, path: route.url });
  });
  // Structured logs (nestjs-pino); what Nest logs while booting is buffered until the logger is in place.
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.register(config, databaseUrl, pinoLevel(config, logger)),
    adapter,
    { bodyParser: false, bufferLogs: true },
  );
  app.useLogger(app.get(PinoNestLogger));
  // Helmet's security headers (a CSP for the docs pages, a no-content one for the API) and the
  // request id, on every answer, 404s and errors included.
  fastify.addHook('onRequest', (request, reply, done) => {
    // In flight until its connection is done with it, answered or aborted (yieldToApi).
    trackApiRequest(reply.raw);
    reply.headers(DOCS_PATH.test(request.url) ? DOCS_HEADERS : API_HEADERS);
    reply.header(REQUEST_ID_HEADER, request.id);
    done();
  });
  // Every request is timed for /metrics.
  registerRequestLog(fastify, await app.resolve(PinoLogger));
  registerHttpMetrics(fastify, app.get(MetricsService));
  const inboundLimit = config.mail.maxInboundBytes;
  // A JSON body carries base64 (4/3 of the mail) plus some framing.
  const webhookJson = Math.ceil(inboundLimit * 1.4) + 64 * 1024;
  // The webhook's token, failure quota and in-flight bound, before its body is read.
  const webhookLimiter = registerWebhookGate(fastify, config, {
    paths: WEBHOOK_PATHS,
    rawLimit: inboundLimit,
    jsonLimit: webhookJson,
  });
  webhookLimiters.set(fastify, webhookLimiter);
  // The mail providers' webhooks: their own credentials, the webhook's limits and in-flight bound.
  registerProviderGate(fastify, config, webhookLimiter);
  // The operator routes' credentials, before their body is read.
  registerOperatorGate(fastify, app.get(AuthGuard));
  registerBodyParsers(fastify, {
    webhookRoutes: WEBHOOK_PATHS,
    webhookRaw: inboundLimit,
    webhookJson,
    ownBodyRoutes: PROVIDER_PATHS,
    json: 1024 * 1024,
    urlencoded: 1024 * 1024,
    bytesRoutes: BYTES_ROUTES,
    ...webhookBodyHooks(config),
  });
  if (config.http.corsOrigins.length) app.enableCors({ origin: config.http.corsOrigins });
  app.useGlobalPipes(
    new QueryMemoValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      transformOptions: { enableImplicitConversion: false },
    }),
  );
  setupSwagger(app, `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${config.http.port}`);
  return app;
}
