import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { Public } from '../common/auth.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import { LiveResponseDto, ReadyResponseDto } from './health.dto';
import { HealthService } from './health.service';

/** Probes for load balancers and orchestrators; no token needed. */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process serves HTTP', security: [] })
  @ApiOkResponse({ type: LiveResponseDto })
  live(): LiveResponseDto {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    summary: "Readiness: database reachable and migrations applied; each mailbox's IMAP poller and the outbox",
    description:
      'IMAP errors, mailboxes waiting for re-authorization and an outbox backlog are reported but do not make the instance unready.',
    security: [],
  })
  @ApiOkResponse({ type: ReadyResponseDto })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'Database unreachable or migrations pending' })
  async ready(): Promise<ReadyResponseDto> {
    return this.health.checkReady();
  }
}
