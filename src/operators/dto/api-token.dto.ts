import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import type { ApiToken, ApiTokenScope } from '../api-tokens.repository';
import type { CreatedApiToken } from '../api-tokens.service';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
// eslint-disable-next-line no-control-regex
const NO_CONTROL = /^[^\u0000-\u001f\u007f]*$/;
const SCOPES: ApiTokenScope[] = ['read', 'write'];

/** Body of `POST /auth/tokens`. */
export class CreateApiTokenDto {
  @ApiProperty({
    example: 'Nightly report script',
    minLength: 1,
    maxLength: 100,
    description: 'What the token is for.',
  })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  @Matches(NO_CONTROL, { message: 'name must not contain control characters' })
  name: string;

  @ApiPropertyOptional({
    example: '2027-06-30T00:00:00Z',
    nullable: true,
    description: 'When the token stops working: at least a minute and at most 730 days ahead. Absent or null: never.',
  })
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'expiresAt must be an ISO 8601 date-time or null' })
  expiresAt?: string | null;

  @ApiPropertyOptional({
    enum: SCOPES,
    default: 'write',
    example: 'read',
    description: "'read': GET and HEAD calls only (others answer 403); 'write': every call its operator may make.",
  })
  @IsOptional()
  @IsIn(SCOPES)
  scope?: ApiTokenScope;
}

/** `GET /auth/tokens` query. */
export class ListApiTokensQuery {
  @ApiPropertyOptional({
    description: "Another operator's tokens (admins only); default: your own.",
    example: 2,
    type: 'integer',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  operatorId?: number;
}

/** A token as listed: never its secret. */
export class ApiTokenResponseDto {
  @ApiProperty({ example: 7 })
  id: number;

  @ApiProperty({ example: 3, description: 'The operator the token acts as.' })
  operatorId: number;

  @ApiProperty({ example: 'Nightly report script' })
  name: string;

  @ApiProperty({ example: 'mdt_Xy3kP0aQ', description: 'How the token starts: recognise it without its secret.' })
  prefix: string;

  @ApiProperty({ enum: SCOPES, example: 'write' })
  scope: ApiTokenScope;

  @ApiProperty({ type: String, format: 'date-time', nullable: true, example: '2027-06-30T00:00:00.000Z' })
  expiresAt: string | null;

  @ApiProperty({
    type: String,
    format: 'date-time',
    nullable: true,
    example: '2026-12-07T09:30:00.000Z',
    description: 'Last call made with it (written at most once a minute).',
  })
  lastUsedAt: string | null;

  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7', description: 'Client address of that call.' })
  lastUsedIp: string | null;

  @ApiProperty({ type: String, format: 'date-time', example: '2026-12-01T08:00:00.000Z' })
  createdAt: string;
}

/** Answer of `POST /auth/tokens`: the record and, this once, the token itself. */
export class CreatedApiTokenDto extends ApiTokenResponseDto {
  @ApiProperty({
    example: 'mdt_Xy3kP0aQ_q8Vb0R1o9Z6cHkzWmY3S4uTn2LwE5aJpDfXgKiNhQrc',
    description: 'Shown this once (only its hash is stored): send as `Authorization: Bearer <token>`.',
  })
  token: string;
}

/** Answer of `GET /auth/tokens`. */
export class ApiTokenListDto {
  @ApiProperty({ type: [ApiTokenResponseDto], description: 'Not revoked (expired ones included), newest first.' })
  items: ApiTokenResponseDto[];
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

/** The listed shape of a token. */
export function toApiTokenResponse(t: ApiToken): ApiTokenResponseDto {
  return {
    id: t.id,
    operatorId: t.operatorId,
    name: t.name,
    prefix: `mdt_${t.prefix}`,
    scope: t.scope,
    expiresAt: iso(t.expiresAt),
    lastUsedAt: iso(t.lastUsedAt),
    lastUsedIp: t.lastUsedIp,
    createdAt: iso(t.createdAt)!,
  };
}

/** The answer to its creation: the listed shape and the token. */
export function toCreatedApiToken(t: CreatedApiToken): CreatedApiTokenDto {
  return { ...toApiTokenResponse(t), token: t.token };
}
