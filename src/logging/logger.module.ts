import type { DynamicModule, LogLevel } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import type { Level, LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';
import type { AppConfig } from '../config/config';

const NEST_LEVELS: LogLevel[] = ['error', 'warn', 'log', 'debug', 'verbose'];
const PINO_LEVEL: Record<string, Level> = {
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/** What the logs never show: any password, token or secret field (request lines carry no headers). */
export const REDACTED_PATHS = [
  'password',
  'token',
  'accessToken',
  'secret',
  '*.password',
  '*.token',
  '*.accessToken',
  '*.secret',
];

/** Requests not worth a log line each: probes and scrapes. */
const QUIET_PATHS = /^\/(health\/(live|ready)|metrics)(\?|$)/;

/**
 * The URL the client asked for: pino-http runs as Nest middleware on Fastify (through middie),
 * which may rewrite `req.url` to the part below the middleware's mount path; `originalUrl` is
 * the whole one.
 */
function urlOf(req: IncomingMessage & { originalUrl?: string }): string {
  return req.originalUrl ?? req.url ?? '';
}

/** The URL with the values of `token`-like query parameters replaced (the webhook accepts `?token=`). */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access_token|password)=)[^&#]*/gi, '$1[redacted]');
}

/**
 * The pino level for LOG_LEVEL, or for the most verbose of `levels` when the caller (a test)
 * passes Nest's list; `false` silences the logs.
 */
export function pinoLevel(config: AppConfig, levels?: LogLevel[] | false): LevelWithSilent {
  if (levels === false) return 'silent';
  if (!levels) return PINO_LEVEL[config.logLevel];
  const most = Math.max(...levels.map((l) => NEST_LEVELS.indexOf(l)));
  return most < 0 ? 'silent' : PINO_LEVEL[NEST_LEVELS[most]];
}

/** LOG_FORMAT=auto: readable text on a terminal, JSON lines otherwise (containers, files, tests). */
export function usePretty(config: AppConfig, isTty = !!process.stdout.isTTY): boolean {
  return config.logFormat === 'pretty' || (config.logFormat === 'auto' && isTty);
}

/**
 * nestjs-pino for the whole app: JSON lines (or pino-pretty), one `request completed` line per
 * request with method, URL, client address, user agent, status and time, `requestId` on every line
 * logged while handling a request, secrets redacted.
 */
export function loggerModule(config: AppConfig, level: LevelWithSilent): DynamicModule {
  const options = {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // Only the id on lines logged inside a request; the full request on its completion line.
    quietReqLogger: true,
    customAttributeKeys: { reqId: 'requestId' },
    autoLogging: { ignore: (req: IncomingMessage) => QUIET_PATHS.test(urlOf(req)) },
    customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
      err || res.statusCode >= 500 ? ('error' as const) : ('info' as const),
    customSuccessMessage: (req: IncomingMessage, res: ServerResponse) =>
      `${req.method} ${redactUrl(urlOf(req))} ${res.statusCode}`,
    serializers: {
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      // No header dump: the line says who asked (address, user agent) and what; headers carry
      // credentials, and serialising and redacting all of them was a tenth of a list call's CPU.
      req: (req: {
        id?: unknown;
        method?: string;
        url?: string;
        headers?: Record<string, unknown>;
        remoteAddress?: string;
      }) => ({
        id: req.id,
        method: req.method,
        url: redactUrl(req.url ?? ''),
        remoteAddress: req.remoteAddress,
        userAgent: req.headers?.['user-agent'],
      }),
    },
  };
  const stream = usePretty(config)
    ? pretty({
        colorize: !!process.stdout.isTTY && !process.env.NO_COLOR,
        singleLine: true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname,req,res,context',
        messageFormat: '{if context}[{context}] {end}{msg}',
      })
    : undefined;
  return LoggerModule.forRoot({ pinoHttp: stream ? [options, stream] : options });
}
