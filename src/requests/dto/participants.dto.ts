import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsOptional,
  IsString,
  MaxLength,
  ValidateBy,
  ValidateNested,
  type ValidationArguments,
} from 'class-validator';
import { isRoutableAddress } from '../../common/addresses';
import { MAX_PARTICIPANTS } from '../participants.service';

const lower = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value);
const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

/** One participant as an operator names it. */
export class ParticipantInputDto {
  @ApiProperty({ example: 'bob@example.com', maxLength: 320, description: 'Lower-cased.' })
  @Transform(lower)
  @ValidateBy({
    name: 'isRecipient',
    validator: {
      validate: (v: unknown) => typeof v === 'string' && v.length <= 320 && isRoutableAddress(v),
      defaultMessage: () => 'email must be an e-mail address (name@domain.tld)',
    },
  })
  email: string;

  @ApiPropertyOptional({ example: 'Bob Colleague', maxLength: 200, nullable: true, type: String })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(200)
  name?: string | null;
}

/** Body of `PUT /requests/:id/participants`: the whole new list. */
export class ReplaceParticipantsDto {
  @ApiProperty({
    type: [ParticipantInputDto],
    maxItems: MAX_PARTICIPANTS,
    description:
      `The participants, at most ${MAX_PARTICIPANTS}, each address once; not the customer, not one of our own mailbox ` +
      'addresses (400). `[]` removes them all. A name not given keeps the one known.',
  })
  @IsArray()
  @ArrayMaxSize(MAX_PARTICIPANTS)
  @ValidateNested({ each: true })
  @Type(() => ParticipantInputDto)
  @ValidateBy({
    name: 'distinctEmails',
    validator: {
      validate: (v: unknown) =>
        !Array.isArray(v) || new Set(v.map((p: { email?: unknown } | null) => p?.email)).size === v.length,
      defaultMessage: (_args?: ValidationArguments) => 'participants: each email once',
    },
  })
  participants: ParticipantInputDto[];
}
