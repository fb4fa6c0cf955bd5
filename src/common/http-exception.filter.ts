import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { STATUS_CODES } from 'node:http';
import { QueryFailedError } from 'typeorm';
import { isBlobMissing, isDatabaseUnavailable, isStorageUnavailable } from '../database/database-errors';
import { redactQueryError } from '../database/query-logger';
import { DetailedHttpException } from './detailed-http.exception';
import { TooManyRequestsException } from './too-many-requests.exception';

/**
 * The one error shape of the API: `{ statusCode, error, message }`, never HTML, never a stack trace;
 * a DetailedHttpException adds its fields (e.g. `newMessages` of a 409 on a stale write).
 */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string | string[];
  requestId?: string;
  [detail: string]: unknown;
}

@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HTTP');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    // A Fastify reply, or the raw response where a middleware failed: the adapter answers either.
    const res = ctx.getResponse<unknown>();
    const req = ctx.getRequest<{ method?: string; url?: string; id?: string }>();
    const http = this.adapterHost.httpAdapter;
    const body = this.toBody(exception);
    // The request id (Fastify's request.id, from X-Request-Id or generated; also in the
    // X-Request-Id header and on the request's log lines).
    if (typeof req?.id === 'string') body.requestId = req.id;
    const err = exception as Error;
    const where = `${req?.method} ${req?.url?.split('?')[0]} -> ${body.statusCode}`;
    // A failed statement's message can quote a value (query-logger.ts redacts it; the statement was logged there).
    const redact = (text?: string) =>
      exception instanceof QueryFailedError && text ? redactQueryError(text, exception.parameters) : text;
    const why = redact(err?.message);
    if (body.statusCode === 500 || isBlobMissing(exception)) this.logger.error(`${where}: ${why}`, redact(err?.stack));
    else if (body.statusCode >= 500) this.logger.warn(`${where}: ${why}`);
    if (http.isHeadersSent(res)) return;
    if (body.statusCode === 503) http.setHeader(res, 'Retry-After', '5');
    if (exception instanceof TooManyRequestsException)
      http.setHeader(res, 'Retry-After', String(exception.retryAfterSeconds));
    http.reply(res, body, body.statusCode);
  }

  private toBody(exception: unknown): ErrorBody {
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const r = exception.getResponse();
      const message = typeof r === 'string' ? r : ((r as { message?: string | string[] }).message ?? exception.message);
      const details = exception instanceof DetailedHttpException ? exception.details : {};
      return { ...details, statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
    }
    const e = exception as { code?: string; type?: string; status?: number; statusCode?: number; message?: string };
    // Errors of HTTP parsing that are no HttpException (http-errors or Fastify's, e.g. a malformed
    // URL) carry their own 4xx status; the body parsers (common/body-parsers.ts) throw HttpExceptions.
    const status = e?.statusCode ?? e?.status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const message =
        e.type === 'entity.too.large'
          ? 'request body is larger than the limit'
          : e.type === 'entity.parse.failed'
            ? 'request body is not valid JSON'
            : (e.message ?? 'bad request');
      return { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message };
    }
    if (exception instanceof QueryFailedError) {
      const code = (exception as unknown as { driverError?: { code?: string } }).driverError?.code ?? e.code;
      if (code === '23505') return { statusCode: 409, error: 'Conflict', message: 'already exists' };
      // Bad text representation, out of range, bad date, NUL byte or untranslatable character in a value.
      if (['22P02', '22003', '22007', '22008', '22021', '22P05'].includes(code ?? '')) {
        return { statusCode: 400, error: 'Bad Request', message: 'invalid value' };
      }
    }
    if (isDatabaseUnavailable(exception)) {
      return {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        error: 'Service Unavailable',
        message: 'database unavailable, retry later',
      };
    }
    if (isStorageUnavailable(exception)) {
      return {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        error: 'Service Unavailable',
        message: 'blob store unavailable, retry later',
      };
    }
    // A parse thread ended while it held a handed-over raw mail (ParseThreadLostError): nothing was
    // stored, the sender sends it again.
    if (e?.code === 'PARSE_THREAD_LOST') {
      return {
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        error: 'Service Unavailable',
        message: 'the mail parser stopped while it held the mail, retry later',
      };
    }
    // Bytes a row names but the blob store lost (docs/storage.md): gone, not retryable; logged as an error above.
    if (isBlobMissing(exception)) {
      return { statusCode: HttpStatus.GONE, error: 'Gone', message: (exception as Error).message };
    }
    return { statusCode: 500, error: 'Internal Server Error', message: 'internal error' };
  }
}
