import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import type { SavedReply } from '../saved-replies.repository';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
// eslint-disable-next-line no-control-regex
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;
const TEXT_DESCRIPTION =
  'Plain text with variables filled in when used: {{customer.name}}, {{customer.email}}, {{request.id}}, ' +
  '{{request.subject}}, {{operator.name}}. Any other {{...}} is refused (400).';

/** `GET /saved-replies` query. */
export class ListSavedRepliesQuery {
  @ApiPropertyOptional({
    description: "Only that group's replies (an operator sees only their groups' anyway).",
    example: 2,
    type: 'integer',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  groupId?: number;
}

/** Body of `POST /saved-replies`. */
export class CreateSavedReplyDto {
  @ApiProperty({
    example: 'Toner replaced',
    minLength: 1,
    maxLength: 200,
    description: 'Unique regardless of case in its scope (global, or its group).',
  })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  @Matches(NO_CONTROL, { message: 'name must not contain control characters' })
  name: string;

  @ApiProperty({
    example: 'Hello {{customer.name}}, we replaced the toner (request #{{request.id}}).',
    minLength: 1,
    maxLength: 20000,
    description: TEXT_DESCRIPTION,
  })
  @IsString()
  @MinLength(1)
  @MaxLength(20_000)
  text: string;

  @ApiPropertyOptional({
    example: 2,
    type: 'integer',
    nullable: true,
    description:
      'The group whose operators see it; absent or null: global (admins only). Operators create replies of their own groups.',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  groupId?: number | null;
}

/** Body of `PATCH /saved-replies/:id` (its scope does not change). */
export class UpdateSavedReplyDto {
  @ApiPropertyOptional({ example: 'Toner replaced', minLength: 1, maxLength: 200 })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  @Matches(NO_CONTROL, { message: 'name must not contain control characters' })
  name?: string;

  @ApiPropertyOptional({
    example: 'Hello {{customer.name}}, the toner is on its way.',
    minLength: 1,
    maxLength: 20000,
    description: TEXT_DESCRIPTION,
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(20_000)
  text?: string;
}

/** A saved reply as the API shows it. */
export class SavedReplyResponseDto {
  @ApiProperty({ example: 3 })
  id: number;

  @ApiProperty({ example: 'Toner replaced' })
  name: string;

  @ApiProperty({ example: 'Hello {{customer.name}}, we replaced the toner (request #{{request.id}}).' })
  text: string;

  @ApiProperty({ example: 2, nullable: true, type: 'integer', description: 'null: global.' })
  groupId: number | null;

  @ApiProperty({ example: 1, nullable: true, type: 'integer', description: 'null: the operator was deleted.' })
  createdBy: number | null;

  @ApiProperty({ example: '2025-11-25T10:02:12.000Z', format: 'date-time' })
  createdAt: string;

  @ApiProperty({ example: '2025-11-25T10:02:12.000Z', format: 'date-time' })
  updatedAt: string;
}

/** `GET /saved-replies`. */
export class SavedReplyListDto {
  @ApiProperty({ type: [SavedReplyResponseDto] })
  items: SavedReplyResponseDto[];
}

/** Maps a saved reply to its response. */
export function toSavedReplyResponse(r: SavedReply): SavedReplyResponseDto {
  return {
    id: r.id,
    name: r.name,
    text: r.text,
    groupId: r.groupId,
    createdBy: r.createdBy,
    createdAt: new Date(r.createdAt).toISOString(),
    updatedAt: new Date(r.updatedAt).toISOString(),
  };
}
