import { Module } from '@nestjs/common';
import { InboundMailModule } from '../inbound-mail/inbound-mail.module';
import { MessagesModule } from '../messages/messages.module';
import { RequestsModule } from '../requests/requests.module';
import { CustomerErasureService } from './customer-erasure.service';
import { CustomerExportService } from './customer-export.service';
import { CustomerRightsRepository } from './customer-rights.repository';
import { CustomersController } from './customers.controller';
import { CustomersRepository } from './customers.repository';
import { CustomersService } from './customers.service';

/** Customer search, details and admin changes; the customer's rights (export, erasure). */
@Module({
  // The export reads bytes through their services: attachments (messages) and raw mail (inbound);
  // the erasure renumbers others' conversations through the requests module's merge service.
  imports: [MessagesModule, InboundMailModule, RequestsModule],
  controllers: [CustomersController],
  providers: [
    CustomersRepository,
    CustomersService,
    CustomerRightsRepository,
    CustomerExportService,
    CustomerErasureService,
  ],
})
export class CustomersModule {}
