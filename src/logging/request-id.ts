import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';

/** Header carrying the request id, in and out. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** An incoming id is kept when it is short and harmless in a log line and a header. */
const ACCEPTABLE_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/**
 * Gives every request an id (`req.id`): the caller's (or the proxy's) X-Request-Id when it is
 * acceptable, else a new UUID, and echoes it in the X-Request-Id response header. Runs first, so
 * the log lines, the error answers (`requestId`) and the response of every request carry it.
 */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  const incoming = req.headers[REQUEST_ID_HEADER];
  const id = typeof incoming === 'string' && ACCEPTABLE_ID.test(incoming) ? incoming : randomUUID();
  (req as Request & { id: string }).id = id;
  res.setHeader('X-Request-Id', id);
  next();
}
