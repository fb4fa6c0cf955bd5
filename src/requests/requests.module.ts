import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Customer } from './customer.entity';
import { RequestEvent } from './request-event.entity';
import { RequestQueryRepository } from './request-query.repository';
import { RequestQueryService } from './request-query.service';
import { ServiceRequest } from './request.entity';
import { RequestsController } from './requests.controller';
import { RequestsRepository } from './requests.repository';
import { RequestsService } from './requests.service';
import { SlaMonitor } from './sla-monitor';

@Module({
  imports: [TypeOrmModule.forFeature([ServiceRequest, Customer, RequestEvent])],
  controllers: [RequestsController],
  providers: [RequestsRepository, RequestQueryRepository, RequestsService, RequestQueryService, SlaMonitor],
  exports: [RequestsService],
})
export class RequestsModule {}
