import { HttpException, HttpStatus } from '@nestjs/common';

/** A 429 that knows when to come back: the error filter sends `Retry-After` with it. */
export class TooManyRequestsException extends HttpException {
  constructor(
    message: string,
    /** Seconds until a retry can succeed (at least 1). */
    readonly retryAfterSeconds: number,
  ) {
    super(message, HttpStatus.TOO_MANY_REQUESTS);
  }
}
