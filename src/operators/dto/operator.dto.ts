import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { Operator, OPERATOR_ROLES, type OperatorRole } from '../operator.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const lower = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value);

/** A signature's characters: no control characters but line breaks and tabs. */
// eslint-disable-next-line no-control-regex
const SIGNATURE_CHARS = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/;

/** Body of `POST /operators`. */
export class CreateOperatorDto {
  @ApiProperty({ example: 'Ada Lovelace', maxLength: 200 })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name: string;

  @ApiProperty({ example: 'ada@example.com', description: 'Login name; stored lower-cased, unique.' })
  @Transform(lower)
  @IsEmail({ require_tld: false })
  @MaxLength(320)
  email: string;

  @ApiProperty({ example: 'correct horse battery staple', minLength: 8, maxLength: 200 })
  @IsString()
  @MinLength(8)
  @MaxLength(200)
  password: string;

  @ApiProperty({ enum: OPERATOR_ROLES, example: 'operator', default: 'operator' })
  @IsIn(OPERATOR_ROLES)
  role: OperatorRole;
}

/** Body of `PATCH /operators/:id`: every field optional. */
export class UpdateOperatorDto {
  @ApiPropertyOptional({ example: 'Ada King', maxLength: 200 })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional({ enum: OPERATOR_ROLES, example: 'admin' })
  @IsOptional()
  @IsIn(OPERATOR_ROLES)
  role?: OperatorRole;

  @ApiPropertyOptional({
    example: false,
    description: 'false deactivates: the operator cannot log in and their tokens stop working.',
  })
  @IsOptional()
  @IsBoolean()
  active?: boolean;

  @ApiPropertyOptional({
    example: 'a new long password',
    minLength: 8,
    maxLength: 200,
    description: 'Ends every token issued before.',
  })
  @IsOptional()
  @IsString()
  @MinLength(8)
  @MaxLength(200)
  password?: string;

  @ApiPropertyOptional({
    example: [1, 3],
    type: [Number],
    maxItems: 100,
    description:
      'The groups (queues) the operator works in, all of them: an operator in groups sees and works only those ' +
      "groups' requests; [] (no group) sees every request. Admins see every request whatever their groups. " +
      "Takes effect from the operator's next call. 400 when an id names no group.",
  })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(100)
  @IsInt({ each: true })
  @Min(1, { each: true })
  @Max(2_147_483_647, { each: true })
  groupIds?: number[];

  @ApiPropertyOptional({
    example: 'Ada King\nBilling team',
    maxLength: 2000,
    nullable: true,
    type: String,
    description:
      "Appended to the mail of the operator's messages (not auto-replies), before the mailbox's signature, " +
      'after one "-- " line; not stored in the conversation. null or blank: none.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  @Matches(SIGNATURE_CHARS, {
    message: 'signature must not contain control characters other than line breaks and tabs',
  })
  signature?: string | null;

  @ApiPropertyOptional({
    example: 5,
    minimum: 0,
    maximum: 1_000_000,
    nullable: true,
    type: 'integer',
    description:
      'Most requests in progress this operator may hold (taking, assignment and automatic assignment answer or ' +
      'skip beyond it): their own OPERATOR_MAX_OPEN. null: OPERATOR_MAX_OPEN; 0: unlimited. Lowering it takes ' +
      'nothing away.',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  capacity?: number | null;
}

/** Body of `PUT /operators/me/availability` and `PUT /operators/:id/availability`. */
export class AvailabilityDto {
  @ApiProperty({
    example: true,
    description:
      'true: automatic assignment may give you requests (within your capacity); false: it stops, and in the ' +
      'groups that ask for it (reassignWhenUnavailable) your requests in progress go back to the pool.',
  })
  @IsBoolean()
  available: boolean;
}

/** An operator as the API shows it (never the password hash). */
export class OperatorResponseDto {
  @ApiProperty({ example: 2 })
  id: number;

  @ApiProperty({ example: 'Ada Lovelace' })
  name: string;

  @ApiProperty({ example: 'ada@example.com' })
  email: string;

  @ApiProperty({ enum: OPERATOR_ROLES, example: 'operator' })
  role: OperatorRole;

  @ApiProperty({ example: true })
  active: boolean;

  @ApiProperty({
    example: [1],
    type: [Number],
    description: 'The groups (queues) the operator works in; [] = none (sees every request).',
  })
  groupIds: number[];

  @ApiProperty({
    example: 'Ada Lovelace\nSupport',
    nullable: true,
    type: String,
    description: "Ends the mail of the operator's messages; null: none.",
  })
  signature: string | null;

  @ApiProperty({
    example: true,
    description: 'Announced by the operator: automatic assignment gives requests only to available operators.',
  })
  available: boolean;

  @ApiProperty({
    example: null,
    nullable: true,
    type: 'integer',
    description: 'Their own limit of requests in progress; null: OPERATOR_MAX_OPEN; 0: unlimited.',
  })
  capacity: number | null;

  @ApiProperty({ example: 3, description: 'Requests they hold in progress now.' })
  load: number;

  @ApiProperty({ example: '2025-11-25T09:30:00.000Z', format: 'date-time' })
  createdAt: string;

  @ApiProperty({ example: '2025-11-25T09:30:00.000Z', format: 'date-time' })
  updatedAt: string;
}

/** `GET /operators`. */
export class OperatorListResponseDto {
  @ApiProperty({ type: [OperatorResponseDto] })
  items: OperatorResponseDto[];
}

/** Maps the entity to its response; the only way an operator leaves the API. */
export function toOperatorResponse(o: Operator): OperatorResponseDto {
  return {
    id: o.id,
    name: o.name,
    email: o.email,
    role: o.role,
    active: o.active,
    groupIds: o.groupIds ?? [],
    signature: o.signature ?? null,
    available: o.available,
    capacity: o.capacity ?? null,
    load: o.load ?? 0,
    createdAt: new Date(o.createdAt).toISOString(),
    updatedAt: new Date(o.updatedAt).toISOString(),
  };
}
