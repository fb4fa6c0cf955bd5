import { Controller, Get, Header, Headers, Inject, Res, UnauthorizedException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Public } from '../common/auth.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { ImapPollerService } from '../inbound-mail/imap/imap-poller.service';
import { MAILBOX_STATES } from '../mailboxes/mailbox';
import { safeEqual } from '../inbound-mail/webhook/inbound-token.guard';
import { OutboxService } from '../outbound-mail/outbox.service';
import { MetricsService } from './metrics.service';

/** Prometheus scrape endpoint: public, or behind `Authorization: Bearer <METRICS_TOKEN>` when that is set. */
@ApiTags('metrics')
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly outbox: OutboxService,
    private readonly imap: ImapPollerService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Prometheus metrics (text exposition format)',
    description:
      'HTTP latency by route, emails ingested by result, database connection waits (API and background), outbox backlog and failures, IMAP poll age, each mailbox state and IMAP poller (last success, backlog, leader), process metrics. ' +
      'Public unless METRICS_TOKEN is set; then `Authorization: Bearer <METRICS_TOKEN>` is required.',
    security: [],
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({
    description: 'Prometheus text format 0.0.4',
    schema: { type: 'string', example: 'maildesk_outbox_pending 0\n' },
  })
  @ApiUnauthorizedResponse({
    type: ErrorResponseDto,
    description: 'METRICS_TOKEN is set and the bearer token is missing or wrong',
  })
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<string> {
    const expected = this.config.metricsToken;
    if (expected) {
      const given = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
      if (!given || !safeEqual(given, expected))
        throw new UnauthorizedException('a valid metrics token is required (Authorization: Bearer <METRICS_TOKEN>)');
    }
    await this.collect();
    res.type(this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }

  /** Sets the gauges that are read from the database and the poller at scrape time. */
  private async collect(): Promise<void> {
    const m = this.metrics;
    const backlog = await this.outbox.backlog();
    m.outboxPending.set(backlog.pending);
    m.outboxDue.set(backlog.due);
    m.outboxFailed.set(backlog.failed);
    m.outboxOldestDueAge.set(
      backlog.oldestDueAt ? Math.max(0, (Date.now() - backlog.oldestDueAt.getTime()) / 1000) : 0,
    );
    const pollers = await this.imap.statuses();
    for (const g of [m.mailboxState, m.mailboxLastSuccess, m.mailboxBacklog, m.mailboxLeader]) g.reset();
    for (const p of pollers) {
      const labels = { mailbox_id: String(p.mailboxId), address: p.address };
      for (const state of MAILBOX_STATES) m.mailboxState.set({ ...labels, state }, p.state === state ? 1 : 0);
      if (!p.imap) continue;
      m.mailboxLeader.set(labels, p.leader ? 1 : 0);
      if (p.lastSuccessAt) m.mailboxLastSuccess.set(labels, p.lastSuccessAt.getTime() / 1000);
      if (p.backlog !== null) m.mailboxBacklog.set(labels, p.backlog);
    }
    const imap = this.imap.defaultStatus(pollers);
    if (m.imapPollAge && m.imapLeader) {
      m.imapPollAge.set(
        imap.lastSuccessAt ? Math.max(0, (Date.now() - imap.lastSuccessAt.getTime()) / 1000) : Infinity,
      );
      m.imapLeader.set(imap.leader ? 1 : 0);
    }
  }
}
