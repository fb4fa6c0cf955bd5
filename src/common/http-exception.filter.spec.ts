import type { ArgumentsHost } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { ParseThreadLostError } from '../inbound-mail/parser/parse-pool';
import { HttpExceptionFilter } from './http-exception.filter';

/** The filter's answer to `exception`: status, headers and body, through a recording adapter. */
function answer(exception: unknown): {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
} {
  const out = { status: 0, headers: {} as Record<string, string>, body: {} as Record<string, unknown> };
  const adapter = {
    isHeadersSent: () => false,
    setHeader: (_res: unknown, name: string, value: string) => (out.headers[name] = value),
    reply: (_res: unknown, body: Record<string, unknown>, status: number) => {
      out.body = body;
      out.status = status;
    },
  };
  const host = {
    switchToHttp: () => ({ getResponse: () => ({}), getRequest: () => ({ method: 'POST', url: '/inbound/mail' }) }),
  } as unknown as ArgumentsHost;
  new HttpExceptionFilter({ httpAdapter: adapter } as unknown as HttpAdapterHost).catch(exception, host);
  return out;
}

describe('HttpExceptionFilter', () => {
  it('answers 503 with Retry-After when a parse thread ended holding the mail (the sender retries)', () => {
    const r = answer(new ParseThreadLostError(new Error('Terminating worker thread')));
    expect(r.status).toBe(503);
    expect(r.headers['Retry-After']).toBe('5');
    expect(r.body).toMatchObject({ message: 'the mail parser stopped while it held the mail, retry later' });
  });

  it('answers 500 for an unexpected error, without its message', () => {
    const r = answer(new Error('secret detail'));
    expect(r.status).toBe(500);
    expect(r.body).toMatchObject({ message: 'internal error' });
  });
});
