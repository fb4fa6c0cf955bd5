import { Module } from '@nestjs/common';
import { LiveEventsController } from './live-events.controller';
import { LiveEventsRepository } from './live-events.repository';
import { LiveEventsService } from './live-events.service';

/**
 * Live events (GET /events/stream): the request history (request_events, the requests module's)
 * read as an event log and streamed to operators, across instances through PostgreSQL
 * LISTEN/NOTIFY. It reads the table and writes nothing; requests tells it of its own commits
 * in process (request-events-signal.ts).
 */
@Module({
  controllers: [LiveEventsController],
  providers: [LiveEventsRepository, LiveEventsService],
  exports: [LiveEventsService],
})
export class EventsModule {}
