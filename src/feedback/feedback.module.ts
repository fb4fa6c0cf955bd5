import { Module } from '@nestjs/common';
import { RequestsModule } from '../requests/requests.module';
import { FeedbackController } from './feedback.controller';

/** Satisfaction ratings: the public endpoint behind the closing mail's rating links. */
@Module({
  imports: [RequestsModule],
  controllers: [FeedbackController],
})
export class FeedbackModule {}
