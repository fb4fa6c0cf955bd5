import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { GroupsModule } from '../groups/groups.module';
import { MailboxesModule } from '../mailboxes/mailboxes.module';
import { OperatorsModule } from '../operators/operators.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { AutoAssignmentRepository } from './auto-assignment.repository';
import { AutoAssignmentService } from './auto-assignment.service';
import { AvailabilityController } from './availability.controller';
import { Customer } from './customer.entity';
import { RequestEvent } from './request-event.entity';
import { ParticipantsRepository } from './participants.repository';
import { ParticipantsService } from './participants.service';
import { PresenceController } from './presence.controller';
import { PresenceRepository } from './presence.repository';
import { PresenceService } from './presence.service';
import { RequestLifecycleService } from './request-lifecycle.service';
import { RequestMergeRepository } from './request-merge.repository';
import { RequestMergeService } from './request-merge.service';
import { RequestQueryRepository } from './request-query.repository';
import { RequestQueryService } from './request-query.service';
import { ServiceRequest } from './request.entity';
import { RequestsController, TagsController } from './requests.controller';
import { RequestsRepository } from './requests.repository';
import { RequestsService } from './requests.service';
import { SlaMonitor } from './sla-monitor';

@Module({
  imports: [
    TypeOrmModule.forFeature([ServiceRequest, Customer, RequestEvent]),
    // What the lifecycle (RequestLifecycleService) needs: none of these depends on requests.
    OperatorsModule,
    WebhooksModule,
    // Our own addresses, which are never participants (ParticipantsService).
    MailboxesModule,
    // Each group's automatic assignment settings change here, and wake the assigner.
    GroupsModule,
  ],
  controllers: [RequestsController, PresenceController, TagsController, AvailabilityController],
  providers: [
    RequestsRepository,
    RequestQueryRepository,
    RequestsService,
    RequestQueryService,
    RequestLifecycleService,
    RequestMergeRepository,
    RequestMergeService,
    SlaMonitor,
    ParticipantsRepository,
    ParticipantsService,
    PresenceRepository,
    PresenceService,
    AutoAssignmentRepository,
    AutoAssignmentService,
  ],
  exports: [RequestsService, RequestLifecycleService, ParticipantsService, RequestMergeService],
})
export class RequestsModule {}
