import { Controller, Get, Header, Inject, Param, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../common/auth.decorators';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { RequestsService } from '../requests/requests.service';
import { verifyRatingToken } from './rating-token';
import { feedbackPage } from './feedback-page';

const THANKS_EXAMPLE =
  '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Thank you</title></head><body><h1>Thank you!</h1><p>You rated our help with request #42: 5 of 5.</p></body></html>';

/** The satisfaction links of the closing mail: public, authenticated by their signed, expiring token. */
@ApiTags('feedback')
@Public()
@Controller('feedback')
export class FeedbackController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly requests: RequestsService,
  ) {}

  @Get(':token')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Record a satisfaction rating from a closing-mail link (public; a later click within validity changes it)',
    security: [],
  })
  @ApiParam({
    name: 'token',
    description: 'Signed token from the link: request id, rating, expiry, HMAC.',
    example: '42.5.1767225600.3q2-7w0Jj1xZ0mJ5b8oV2zM4c1lQ9e6uT8yR0pWnK3s',
  })
  @ApiProduces('text/html')
  @ApiOkResponse({
    description: 'A small thank-you page',
    content: { 'text/html': { schema: { type: 'string', example: THANKS_EXAMPLE } } },
  })
  @ApiBadRequestResponse({
    description: 'Malformed or forged link (400), or an expired one (410): an HTML page saying so',
    content: {
      'text/html': { schema: { type: 'string', example: '<!DOCTYPE html><html>…This link is not valid…</html>' } },
    },
  })
  @ApiNotFoundResponse({
    description: 'The request does not exist or is not closed: an HTML page saying so',
    content: { 'text/html': { schema: { type: 'string', example: '<!DOCTYPE html><html>…</html>' } } },
  })
  async rate(@Param('token') token: string, @Res({ passthrough: true }) res: FastifyReply): Promise<string> {
    const claim = verifyRatingToken(this.config.auth.jwtSecret!, token);
    const name = this.config.mail.supportName;
    if (claim === 'invalid') {
      res.status(400);
      return feedbackPage(
        name,
        'Link not valid',
        'This rating link is not valid. Please use the link from our email as it is.',
      );
    }
    if (claim === 'expired') {
      res.status(410);
      return feedbackPage(name, 'Link expired', 'This rating link has expired. Thank you all the same.');
    }
    const outcome = await this.requests.recordRating(claim.requestId, claim.rating);
    if (outcome === 'missing') {
      res.status(404);
      return feedbackPage(name, 'Request not found', `Request #${claim.requestId} cannot be rated.`);
    }
    return feedbackPage(
      name,
      'Thank you!',
      `You rated our help with request #${claim.requestId}: ${claim.rating} of 5.`,
    );
  }
}
