import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { MAX_FORWARD_MESSAGES, MAX_SIDE_RECIPIENTS } from '../side-threads.service';

/** One address as a list of one; anything else as given (the validators then judge it). */
const listOf = ({ value }: { value: unknown }) => (typeof value === 'string' ? [value] : value);

/** Body of `POST /requests/:id/forward`. */
export class ForwardDto {
  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: ['vendor@printers.example'],
    description:
      `The third party: one address or a list (1..${MAX_SIDE_RECIPIENTS} with cc); bare addresses, none of our own ` +
      'mailboxes. The first is the To of the mail, the others are in its Cc.',
  })
  @Transform(listOf)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_SIDE_RECIPIENTS)
  @IsString({ each: true })
  @MaxLength(320, { each: true })
  to: string[];

  @ApiPropertyOptional({
    type: [String],
    example: [],
    description:
      'More recipients in Cc. The customer and the participants get the forward only when listed here or in to.',
  })
  @IsOptional()
  @Transform(listOf)
  @IsArray()
  @ArrayMaxSize(MAX_SIDE_RECIPIENTS)
  @IsString({ each: true })
  @MaxLength(320, { each: true })
  cc?: string[];

  @ApiProperty({ example: 'Hello, could you check this printer? The customer reports a jam.', maxLength: 100000 })
  @IsString()
  @MinLength(1)
  @MaxLength(100_000)
  text: string;

  @ApiPropertyOptional({
    type: [Number],
    example: [101, 103],
    description:
      `Messages of this request to forward (any kind; 400 for another request's), at most ${MAX_FORWARD_MESSAGES}. ` +
      `Default: the conversation with the customer (customer, operator and auto-reply messages; its latest ${MAX_FORWARD_MESSAGES}).`,
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_FORWARD_MESSAGES)
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(2_147_483_647, { each: true })
  messageIds?: number[];
}

/** Body of `POST /requests/:id/side-threads/:sideThreadId/messages`. */
export class SideMessageDto {
  @ApiProperty({ example: 'Any news on the replacement part?', maxLength: 100000 })
  @IsString()
  @MinLength(1)
  @MaxLength(100_000)
  text: string;
}
