import { INestApplication, LogLevel, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express from 'express';
import type { IncomingMessage } from 'node:http';
import helmet from 'helmet';
import { AppModule } from './app.module';
import { setupSwagger } from './common/swagger';
import type { AppConfig } from './config/config';
import { pinoLevel } from './logging/logger.module';
import { requestIdMiddleware } from './logging/request-id';
import { httpMetricsMiddleware } from './metrics/http-metrics.middleware';
import { MetricsService } from './metrics/metrics.service';

/** Routes whose bodies may be whole emails: they get the inbound size limit and raw MIME parsing. */
export const WEBHOOK_PATHS = ['/inbound/mail', '/requests/webhook/email'];

/** Keeps the exact body bytes on `req.rawBody` (the webhook signature is computed over them). */
function keepRawBody(req: IncomingMessage, _res: unknown, buf: Buffer): void {
  (req as IncomingMessage & { rawBody?: Buffer }).rawBody = buf;
}

/** Swagger UI and ReDoc need their own scripts, inline styles and (ReDoc) a blob: worker; everything else is JSON and gets `default-src 'none'`. */
const DOCS_CSP = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'", "'unsafe-inline'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    workerSrc: ["'self'", 'blob:'],
    frameAncestors: ["'none'"],
    objectSrc: ["'none'"],
    baseUri: ["'self'"],
  },
};
const API_CSP = { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } };

/**
 * Builds the configured Nest application (not yet listening): used by main.ts and by the tests,
 * so both run the same pipes, filters, body limits and Swagger.
 */
export async function createApp(
  config: AppConfig,
  databaseUrl: string,
  logger?: LogLevel[] | false,
): Promise<INestApplication> {
  // Structured logs (nestjs-pino); what Nest logs while booting is buffered until the logger is in place.
  const app = await NestFactory.create<NestExpressApplication>(
    AppModule.register(config, databaseUrl, pinoLevel(config, logger)),
    {
      bodyParser: false,
      bufferLogs: true,
    },
  );
  app.useLogger(app.get(PinoNestLogger));
  app.disable('x-powered-by');
  // First: every request gets its id (logs, error answers, X-Request-Id) and is timed for /metrics.
  app.use(requestIdMiddleware);
  app.use(httpMetricsMiddleware(app.get(MetricsService)));
  // Only the proxies named in TRUST_PROXY may set the client address by X-Forwarded-For.
  app.set('trust proxy', config.trustProxy === false ? false : config.trustProxy.join(','));
  const docsHelmet = helmet({ contentSecurityPolicy: DOCS_CSP });
  const apiHelmet = helmet({ contentSecurityPolicy: API_CSP });
  app.use((req: express.Request, res: express.Response, next: express.NextFunction) =>
    (/^\/(?:docs|redoc)(?:[/?#-]|$)/.test(req.url) ? docsHelmet : apiHelmet)(req, res, next),
  );
  const inboundLimit = config.mail.maxInboundBytes;
  // A JSON body carries base64 (4/3 of the mail) plus some framing.
  app.use(
    WEBHOOK_PATHS,
    express.raw({
      type: ['message/rfc822', 'text/plain', 'application/octet-stream'],
      limit: inboundLimit,
      verify: keepRawBody,
    }),
  );
  app.use(WEBHOOK_PATHS, express.json({ limit: Math.ceil(inboundLimit * 1.4) + 64 * 1024, verify: keepRawBody }));
  app.use(express.json({ limit: '1mb', verify: keepRawBody }));
  app.use(express.urlencoded({ extended: false, limit: '1mb', verify: keepRawBody }));
  if (config.http.corsOrigins.length) app.enableCors({ origin: config.http.corsOrigins });
  app.useGlobalPipes(
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      transformOptions: { enableImplicitConversion: false },
    }),
  );
  setupSwagger(app, `http://${config.http.host === '0.0.0.0' ? '127.0.0.1' : config.http.host}:${config.http.port}`);
  return app;
}
