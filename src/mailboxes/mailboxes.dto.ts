import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { MAILBOX_STATES, OAUTH2_PROVIDERS, type MailboxRecord } from './mailbox';
import { MAILBOX_LIMITS } from './mailboxes.service';

/** Optional, but not null: `undefined` skips the field's rules, `null` fails them. */
const OptionalNotNull = () => ValidateIf((_o: unknown, v: unknown) => v !== undefined);

/** `oauth2` of `POST /mailboxes` and `PATCH /mailboxes/:id`. */
export class Oauth2InputDto {
  @ApiProperty({ enum: OAUTH2_PROVIDERS, example: 'google' })
  @IsIn(OAUTH2_PROVIDERS, { message: `oauth2.provider must be one of ${OAUTH2_PROVIDERS.join(', ')}` })
  provider: (typeof OAUTH2_PROVIDERS)[number];

  @ApiProperty({ example: '1234567890-abc.apps.googleusercontent.com', maxLength: MAILBOX_LIMITS.clientId })
  @IsString()
  @MaxLength(MAILBOX_LIMITS.clientId)
  clientId: string;

  @ApiPropertyOptional({
    example: 'GOCSPX-...',
    maxLength: MAILBOX_LIMITS.clientSecret,
    description:
      'Write-only (stored encrypted, never shown). Required when the mailbox has no client secret yet; omitted on a change, the stored one is kept.',
    writeOnly: true,
  })
  @OptionalNotNull()
  @IsString()
  @MaxLength(MAILBOX_LIMITS.clientSecret)
  clientSecret?: string;

  @ApiPropertyOptional({
    example: 'common',
    maxLength: MAILBOX_LIMITS.tenant,
    description: 'microsoft only: the directory (tenant) id, a domain, `common` (the default) or `organizations`.',
  })
  @OptionalNotNull()
  @IsString()
  @MaxLength(MAILBOX_LIMITS.tenant)
  tenant?: string;

  @ApiPropertyOptional({
    example: 'https://auth.example.com/authorize',
    maxLength: MAILBOX_LIMITS.url,
    description: 'The authorization endpoint: required for generic, overrides the provider default otherwise.',
  })
  @OptionalNotNull()
  @IsString()
  @MaxLength(MAILBOX_LIMITS.url)
  authorizeUrl?: string;

  @ApiPropertyOptional({
    example: 'https://auth.example.com/token',
    maxLength: MAILBOX_LIMITS.url,
    description: 'The token endpoint: required for generic, overrides the provider default otherwise.',
  })
  @OptionalNotNull()
  @IsString()
  @MaxLength(MAILBOX_LIMITS.url)
  tokenUrl?: string;

  @ApiPropertyOptional({
    type: [String],
    example: ['https://mail.google.com/'],
    description: "Overrides the provider's default scopes.",
    maxItems: MAILBOX_LIMITS.scopes,
  })
  @OptionalNotNull()
  @IsArray()
  @ArrayMaxSize(MAILBOX_LIMITS.scopes)
  @IsString({ each: true })
  @MaxLength(MAILBOX_LIMITS.scope, { each: true })
  scopes?: string[];
}

/** The fields of `PATCH /mailboxes/:id`, every one optional. */
export class UpdateMailboxDto {
  @ApiPropertyOptional({
    example: 'Billing',
    maxLength: MAILBOX_LIMITS.name,
    description: 'The From name of its mail.',
  })
  @OptionalNotNull()
  @IsString()
  @MaxLength(MAILBOX_LIMITS.name)
  name?: string;

  @ApiPropertyOptional({ example: 'billing@example.com', maxLength: MAILBOX_LIMITS.address })
  @OptionalNotNull()
  @IsString()
  @MaxLength(MAILBOX_LIMITS.address)
  address?: string;

  @ApiPropertyOptional({
    type: [String],
    example: ['invoices@example.com'],
    maxItems: MAILBOX_LIMITS.aliases,
    description: 'Other addresses whose mail belongs to this mailbox.',
  })
  @OptionalNotNull()
  @IsArray()
  @ArrayMaxSize(MAILBOX_LIMITS.aliases)
  @IsString({ each: true })
  @MaxLength(MAILBOX_LIMITS.address, { each: true })
  aliases?: string[];

  @ApiPropertyOptional({
    example: 2,
    nullable: true,
    type: Number,
    description: 'The group its new requests go to; null: none.',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  groupId?: number | null;

  @ApiPropertyOptional({
    example: '-- \nThe billing team',
    nullable: true,
    type: String,
    maxLength: MAILBOX_LIMITS.signature,
    description: 'Appended to the mail the desk sends for its requests.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAILBOX_LIMITS.signature)
  signature?: string | null;

  @ApiPropertyOptional({
    example: 'imaps://billing%40example.com:password@imap.example.com/INBOX',
    nullable: true,
    type: String,
    maxLength: MAILBOX_LIMITS.url,
    description:
      'As IMAP_URL. The password is taken out and stored encrypted; a URL without one keeps the stored password while it names the same server and user. With oauth2: a user and no password. null: no IMAP (mail reaches it by webhook or SMTP only).',
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAILBOX_LIMITS.url)
  imapUrl?: string | null;

  @ApiPropertyOptional({
    example: 'smtps://billing%40example.com:password@smtp.example.com',
    nullable: true,
    type: String,
    maxLength: MAILBOX_LIMITS.url,
    description: 'As SMTP_URL (the password as for imapUrl). null: its mail goes out through the default mailbox.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAILBOX_LIMITS.url)
  smtpUrl?: string | null;

  @ApiPropertyOptional({
    type: Oauth2InputDto,
    nullable: true,
    description: 'Makes IMAP and SMTP log in with XOAUTH2; null: back to passwords.',
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => Oauth2InputDto)
  oauth2?: Oauth2InputDto | null;

  @ApiPropertyOptional({
    enum: ['active'],
    example: 'active',
    description: '`active` re-enables a deactivated mailbox.',
  })
  @OptionalNotNull()
  @IsIn(['active'], { message: 'state can only be set to active (DELETE deactivates)' })
  state?: 'active';
}

/** Body of `POST /mailboxes`. */
export class CreateMailboxDto {
  @ApiProperty({ example: 'Billing', maxLength: MAILBOX_LIMITS.name, description: 'The From name of its mail.' })
  @IsString()
  @MaxLength(MAILBOX_LIMITS.name)
  name: string;

  @ApiProperty({ example: 'billing@example.com', maxLength: MAILBOX_LIMITS.address })
  @IsString()
  @MaxLength(MAILBOX_LIMITS.address)
  address: string;

  @ApiPropertyOptional({ type: [String], example: ['invoices@example.com'], maxItems: MAILBOX_LIMITS.aliases })
  @OptionalNotNull()
  @IsArray()
  @ArrayMaxSize(MAILBOX_LIMITS.aliases)
  @IsString({ each: true })
  @MaxLength(MAILBOX_LIMITS.address, { each: true })
  aliases?: string[];

  @ApiPropertyOptional({ example: 2, nullable: true, type: Number })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  groupId?: number | null;

  @ApiPropertyOptional({
    example: '-- \nThe billing team',
    nullable: true,
    type: String,
    maxLength: MAILBOX_LIMITS.signature,
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAILBOX_LIMITS.signature)
  signature?: string | null;

  @ApiPropertyOptional({
    example: 'imaps://billing%40example.com:password@imap.example.com/INBOX',
    nullable: true,
    type: String,
    maxLength: MAILBOX_LIMITS.url,
    description: 'As IMAP_URL; the password is stored encrypted and never shown. With oauth2: a user and no password.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAILBOX_LIMITS.url)
  imapUrl?: string | null;

  @ApiPropertyOptional({
    example: 'smtps://billing%40example.com:password@smtp.example.com',
    nullable: true,
    type: String,
    maxLength: MAILBOX_LIMITS.url,
    description: 'As SMTP_URL; unset: its mail goes out through the default mailbox.',
  })
  @IsOptional()
  @IsString()
  @MaxLength(MAILBOX_LIMITS.url)
  smtpUrl?: string | null;

  @ApiPropertyOptional({ type: Oauth2InputDto, nullable: true, description: 'IMAP and SMTP log in with XOAUTH2.' })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => Oauth2InputDto)
  oauth2?: Oauth2InputDto | null;
}

/** One server of a mailbox. */
export class MailboxServerDto {
  @ApiProperty({
    example: 'imaps://billing%40example.com@imap.example.com/INBOX',
    description: 'Without its password.',
  })
  url: string;

  @ApiProperty({ enum: ['password', 'oauth2'], example: 'password' })
  auth: 'password' | 'oauth2';
}

/** A mailbox's OAuth2 client (never its secret or tokens). */
export class MailboxOauth2Dto {
  @ApiProperty({ enum: OAUTH2_PROVIDERS, example: 'microsoft' })
  provider: string;

  @ApiProperty({ example: '00000000-0000-0000-0000-000000000000' })
  clientId: string;

  @ApiProperty({ example: 'common', nullable: true, type: String })
  tenant: string | null;

  @ApiProperty({ example: null, nullable: true, type: String })
  authorizeUrl: string | null;

  @ApiProperty({ example: null, nullable: true, type: String })
  tokenUrl: string | null;

  @ApiProperty({ example: null, nullable: true, type: [String], description: "null: the provider's default scopes." })
  scopes: string[] | null;

  @ApiProperty({
    example: true,
    description:
      'Whether a refresh token is stored (an admin authorized it through GET /mailboxes/:id/oauth2/authorize).',
  })
  authorized: boolean;
}

/** A mailbox: no password, client secret or token, ever. */
export class MailboxDto {
  @ApiProperty({ example: 2 })
  id: number;

  @ApiProperty({ example: 'Billing' })
  name: string;

  @ApiProperty({ example: 'billing@example.com' })
  address: string;

  @ApiProperty({ type: [String], example: ['invoices@example.com'] })
  aliases: string[];

  @ApiProperty({ example: 2, nullable: true, type: Number })
  groupId: number | null;

  @ApiProperty({ example: '-- \nThe billing team', nullable: true, type: String })
  signature: string | null;

  @ApiProperty({
    example: false,
    description:
      'The mailbox SUPPORT_ADDRESS, SUPPORT_NAME, IMAP_URL and SMTP_URL define (those fields cannot be changed here).',
  })
  isDefault: boolean;

  @ApiProperty({ type: MailboxServerDto, nullable: true })
  imap: MailboxServerDto | null;

  @ApiProperty({ type: MailboxServerDto, nullable: true })
  smtp: MailboxServerDto | null;

  @ApiProperty({ type: MailboxOauth2Dto, nullable: true })
  oauth2: MailboxOauth2Dto | null;

  @ApiProperty({
    enum: MAILBOX_STATES,
    example: 'active',
    description:
      '`error`: the last poll failed (back to `active` on the next success); `needs_reauthorization`: OAuth2 refresh failed for good; `disabled`: deactivated.',
  })
  state: string;

  @ApiProperty({
    example: null,
    nullable: true,
    type: String,
    description: 'The latest poll error (kept after a success).',
  })
  lastError: string | null;

  @ApiProperty({ example: null, nullable: true, type: String, format: 'date-time' })
  lastErrorAt: string | null;

  @ApiProperty({ example: '2025-11-25T10:02:11.000Z', nullable: true, type: String, format: 'date-time' })
  lastSuccessAt: string | null;

  @ApiProperty({
    example: 0,
    nullable: true,
    type: Number,
    description: 'Messages waiting above the poller cursor at its last look.',
  })
  backlog: number | null;
}

/** `GET /mailboxes`. */
export class MailboxListDto {
  @ApiProperty({ type: [MailboxDto] })
  items: MailboxDto[];
}

/** Maps a mailbox to its answer: URLs without passwords, no secret. */
export function toMailboxResponse(m: MailboxRecord): MailboxDto {
  const auth = m.oauth2 && !m.isDefault ? 'oauth2' : 'password';
  return {
    id: m.id,
    name: m.name,
    address: m.address,
    aliases: m.aliases,
    groupId: m.groupId,
    signature: m.signature,
    isDefault: m.isDefault,
    imap: m.imapUrl ? { url: m.imapUrl, auth } : null,
    smtp: m.smtpUrl ? { url: m.smtpUrl, auth } : null,
    oauth2:
      m.oauth2 && !m.isDefault
        ? {
            provider: m.oauth2.provider,
            clientId: m.oauth2.clientId,
            tenant: m.oauth2.tenant ?? null,
            authorizeUrl: m.oauth2.authorizeUrl ?? null,
            tokenUrl: m.oauth2.tokenUrl ?? null,
            scopes: m.oauth2.scopes ?? null,
            authorized: m.oauth2RefreshSecret !== null,
          }
        : null,
    state: m.state,
    lastError: m.lastError,
    lastErrorAt: m.lastErrorAt?.toISOString() ?? null,
    lastSuccessAt: m.lastSuccessAt?.toISOString() ?? null,
    backlog: m.backlog,
  };
}
