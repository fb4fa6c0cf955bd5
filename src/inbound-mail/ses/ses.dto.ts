import { ApiProperty } from '@nestjs/swagger';
import { SNS_TYPES, type SnsType } from './sns-message';
import { IngestResultDto } from '../webhook/inbound.dto';

/** The answer of POST /inbound/ses. */
export class SesAnswerDto {
  @ApiProperty({ enum: SNS_TYPES, example: 'Notification', description: "the SNS message's Type" })
  type: SnsType;

  @ApiProperty({
    type: [IngestResultDto],
    description: 'a Notification with a received mail: its one result (as POST /inbound/mail); otherwise empty',
  })
  results: IngestResultDto[];

  @ApiProperty({
    required: false,
    example: true,
    description: 'SubscriptionConfirmation: the subscription was confirmed',
  })
  confirmed?: boolean;
}
