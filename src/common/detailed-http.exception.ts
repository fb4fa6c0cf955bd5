import { HttpException } from '@nestjs/common';

/**
 * An HTTP error whose body says more than `message`: the error filter adds `details`' fields to the
 * usual `{ statusCode, error, message }` (which they cannot override). For answers a client acts
 * on, such as the messages that arrived in a 409 of collision detection; never for internals.
 */
export class DetailedHttpException extends HttpException {
  constructor(
    status: number,
    message: string,
    /** Fields added to the error body (JSON-serializable, bounded by the thrower). */
    readonly details: Record<string, unknown>,
  ) {
    super(message, status);
  }
}
