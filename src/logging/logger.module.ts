import type { DynamicModule, LogLevel } from '@nestjs/common';
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

/** The URL with the values of `token`-like query parameters replaced (the webhook accepts `?token=`; the OAuth2 routes take `access_token`, `code`, `state`). */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access_token|password|code|state)=)[^&#]*/gi, '$1[redacted]');
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
 * nestjs-pino for the whole app: JSON lines (or pino-pretty), secrets redacted. Its HTTP middleware
 * is not mounted (`forRoutes: []`): the request lines and the `requestId` of lines logged inside a
 * request come from Fastify hooks (src/logging/request-log.ts).
 */
export function loggerModule(config: AppConfig, level: LevelWithSilent): DynamicModule {
  const options = {
    level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    // The serializers are pino's own (the request line is shaped where it is logged), not pino-http's.
    wrapSerializers: false,
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
  return LoggerModule.forRoot({ pinoHttp: stream ? [options, stream] : options, forRoutes: [] });
}
