import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { isRoutableAddress } from '../../common/addresses';
import { MAX_PARTICIPANTS } from '../../requests/participants.service';
import { READ_SANITIZE_MAX_INPUT, renderSafeHtml, sanitizeMailHtml } from '../../common/safe-html';
import type { Attachment } from '../attachment.entity';
import type { Message } from '../message.entity';
import { MessageView } from '../messages.service';

/**
 * A Cc or Bcc list as given: a JSON array of addresses, or (multipart/form-data) one field of
 * comma-separated addresses or the field repeated; each trimmed and lower-cased, empty ones
 * dropped (so an empty field is the empty list). Anything else is left for the validators to refuse.
 */
export function recipientList({ value }: { value: unknown }): unknown {
  if (value === undefined || value === null) return value;
  const parts = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(parts) || parts.length > MAX_PARTICIPANTS * 4) return value;
  if (!parts.every((p) => typeof p === 'string' && p.length <= 50_000)) return value;
  return (parts as string[])
    .flatMap((p) => p.split(','))
    .map((a) => a.trim().toLowerCase())
    .filter((a) => a.length > 0);
}

/** Each element is one routable address (common/addresses.ts isRoutableAddress) of at most 320 characters. */
function IsRecipient(): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isRecipient',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && value.length <= 320 && isRoutableAddress(value),
        defaultMessage: (args) => `each address in ${args?.property} must be an e-mail address (name@domain.tld)`,
      },
    },
    { each: true },
  );
}

/** Body of `POST /requests/:id/messages`. */
export class PostMessageDto {
  @ApiPropertyOptional({
    example: 'Hello Jane, we replaced the toner. Does it print now?',
    maxLength: 100000,
    description:
      'Required unless savedReplyId or html is given; with savedReplyId, written after the saved reply (a blank line ' +
      'between). Without it, html given: the text alternative is made from the html (html-to-text).',
  })
  @ValidateIf((o: PostMessageDto) => (o.savedReplyId === undefined && o.html === undefined) || o.text !== undefined)
  @IsString()
  @MinLength(1)
  @MaxLength(100_000)
  text?: string;

  @ApiPropertyOptional({
    example: 3,
    type: 'integer',
    description:
      'A saved reply you see (GET /saved-replies; 404 otherwise): its text, variables filled in, starts the message ' +
      '(and, escaped, the html when html is given).',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  savedReplyId?: number;

  @ApiPropertyOptional({
    example: '<p>Hello Jane, we replaced the toner. Does it print now?</p>',
    maxLength: 500000,
    description:
      'Sanitized with the allow-list of received mail (docs/conversations.md "Safe HTML": no scripts, handlers, ' +
      'forms, frames; styles filtered) before it is stored and sent. multipart/form-data: `<img src="cid:NAME">` ' +
      'shows the uploaded file named NAME inline (sent as multipart/related); a cid naming no uploaded file is a 400.',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(500_000)
  html?: string;

  @ApiPropertyOptional({
    type: [String],
    example: ['bob@example.com'],
    maxItems: MAX_PARTICIPANTS,
    description:
      "The mail's Cc. Absent: the request's participants. `[]` (multipart: an empty field): the customer only. " +
      'An address that is not a participant becomes one. Lower-cased; no duplicates, not the customer, not one of our ' +
      'own mailbox addresses (400). multipart/form-data: comma-separated, or the field repeated.',
  })
  @IsOptional()
  @Transform(recipientList)
  @IsArray()
  @ArrayMaxSize(MAX_PARTICIPANTS)
  @ArrayUnique()
  @IsRecipient()
  cc?: string[];

  @ApiPropertyOptional({
    type: [String],
    example: [],
    maxItems: MAX_PARTICIPANTS,
    description:
      'Blind copies: envelope recipients only (never in a header), shown to operators on the message, never ' +
      'participants. Same rules as cc, and no address in both.',
  })
  @IsOptional()
  @Transform(recipientList)
  @IsArray()
  @ArrayMaxSize(MAX_PARTICIPANTS)
  @ArrayUnique()
  @IsRecipient()
  bcc?: string[];

  @ApiPropertyOptional({
    example: 101,
    type: 'integer',
    description:
      'Collision detection: the id of the last message of the conversation you saw. When someone else wrote since ' +
      "(customer mail, another operator's message or note, side-thread mail, a bounce; not automatic answers, not your " +
      'own messages), nothing is sent and the answer is a 409 listing them (newMessages). Absent: no check.',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  lastSeenMessageId?: number;
}

/** Body of `POST /requests/:id/notes`. */
export class PostNoteDto {
  @ApiProperty({ example: 'Customer called: the printer is the one by the kitchen.', maxLength: 100000 })
  @IsString()
  @MinLength(1)
  @MaxLength(100_000)
  text: string;
}

/**
 * `POST /requests/:id/messages` as multipart/form-data: the same fields, plus files (in `files` or
 * `files[]`) sent as attachments of the message. For Swagger only; the fields are validated as PostMessageDto.
 */
export class PostMessageFormDto extends PostMessageDto {
  @ApiPropertyOptional({
    type: 'array',
    items: { type: 'string', format: 'binary' },
    example: [],
    description:
      'multipart/form-data only: up to 10 files of at most ATTACHMENT_MAX_BYTES each (default 10 MB), emailed as attachments.',
  })
  files?: unknown[];
}

/** A message written since the one an operator last saw (the 409 of collision detection). */
export class NewMessageSummaryDto {
  @ApiProperty({ example: 102 })
  id: number;

  @ApiProperty({ example: 4, description: 'Position in the conversation.' })
  seq: number;

  @ApiProperty({ enum: ['customer', 'operator', 'system', 'note', 'side'], example: 'customer' })
  kind: string;

  @ApiProperty({ example: 'jane@example.com', description: 'Sender address.' })
  from: string;

  @ApiProperty({ example: 'Jane Doe', nullable: true, type: String })
  fromName: string | null;

  @ApiProperty({ example: null, nullable: true, type: Number, description: 'The operator who wrote it.' })
  operatorId: number | null;

  @ApiProperty({ example: '2025-11-25T10:03:05.000Z', format: 'date-time' })
  createdAt: string;
}

/**
 * The 409 of POST /requests/:id/messages: the request is closed, or (lastSeenMessageId) someone
 * wrote since the message the operator last saw; then newMessages and newMessageCount say what.
 */
export class PostMessageConflictDto {
  @ApiProperty({ example: 409 })
  statusCode: number;

  @ApiProperty({ example: 'Conflict' })
  error: string;

  @ApiProperty({
    example: '1 message was written on request 42 since message 101: read before sending (nothing was sent)',
  })
  message: string;

  @ApiPropertyOptional({
    type: [NewMessageSummaryDto],
    description: 'lastSeenMessageId: the messages written since, oldest first, at most 20.',
  })
  newMessages?: NewMessageSummaryDto[];

  @ApiPropertyOptional({ example: 1, description: 'lastSeenMessageId: how many messages were written since.' })
  newMessageCount?: number;

  @ApiPropertyOptional({ example: '6f1c2a4e-8d0b-4a57-9f43-2b7e5d0c9a11', description: 'The request id.' })
  requestId?: string;
}

/** Attachment metadata (the content is not part of the message response). */
export class AttachmentDto {
  @ApiProperty({ example: 5 })
  id: number;

  @ApiProperty({ example: 'screenshot.png' })
  filename: string;

  @ApiProperty({ example: 'image/png' })
  contentType: string;

  @ApiProperty({ example: 48213, description: 'Bytes.' })
  size: number;
}

/** Delivery state of a mail we send. */
export class DeliveryDto {
  @ApiProperty({ enum: ['pending', 'sent', 'failed'], example: 'sent' })
  status: 'pending' | 'sent' | 'failed';

  @ApiProperty({ example: 1 })
  attempts: number;

  @ApiProperty({ example: null, nullable: true, type: String })
  lastError: string | null;

  @ApiProperty({ example: '2025-11-25T10:02:12.000Z', nullable: true, type: String, format: 'date-time' })
  sentAt: string | null;
}

/** A message of a request's conversation. */
export class MessageResponseDto {
  @ApiProperty({ example: 101 })
  id: number;

  @ApiProperty({ example: 42 })
  requestId: number;

  @ApiProperty({ example: 3, description: 'Position in the conversation, from 1.' })
  seq: number;

  @ApiProperty({ enum: ['in', 'out'], example: 'out' })
  direction: 'in' | 'out';

  @ApiProperty({
    enum: ['customer', 'operator', 'auto_reply', 'system', 'note', 'side'],
    example: 'operator',
    description:
      '`side`: a forward to a third party, a follow-up to it, or its answer (sideThreadId); never mailed to the customer.',
  })
  kind: string;

  @ApiProperty({ example: 'support@example.com', description: 'Sender address.' })
  from: string;

  @ApiProperty({ example: 'MailDesk Support', nullable: true, type: String })
  fromName: string | null;

  @ApiProperty({
    enum: ['from', 'sender', 'reply-to', 'return-path', 'envelope'],
    example: 'from',
    nullable: true,
    type: String,
    description:
      'Received mail: where `from` was found. `from` normally; when the From header had no usable address ' +
      '(missing, garbled, a name alone), the first of the Sender, Reply-To and Return-Path headers that had one, ' +
      'else the envelope sender (an mbox `From ` line). null for mail the desk wrote and messages stored before.',
  })
  senderSource: string | null;

  @ApiProperty({ example: ['jane@example.com'], type: [String] })
  to: string[];

  @ApiProperty({ example: [], type: [String] })
  cc: string[];

  @ApiProperty({
    example: [],
    type: [String],
    description:
      "An operator's Bcc (outgoing operator messages; [] for every other message): never in the mail's header.",
  })
  bcc: string[];

  @ApiProperty({ example: 'Re: [#42] Printer on floor 3 is jammed' })
  subject: string;

  @ApiProperty({ example: 'Hello Jane, we replaced the toner. Does it print now?' })
  text: string;

  @ApiProperty({
    example: 'Hello Jane, we replaced the toner. Does it print now?',
    description:
      'The new text: for received customer and side-thread mail, `text` without the quoted history (the reply ' +
      'header and the quote below it), the "-- " signature and one-line client signatures ("Sent from my iPhone"); ' +
      'equal to `text` when nothing was cut (no quote, an inline reply, a forward, a mail that is all quote), for ' +
      'messages the desk wrote (operator replies, auto-replies, notes), for system mail (bounces) and for mail ' +
      'received before the field existed. `text` and `html` always keep the whole mail.',
  })
  visibleText: string;

  @ApiProperty({
    example: '<p>Hello Jane, <img alt="" data-remote-src="https://tracker.example/p.gif" /></p>',
    nullable: true,
    type: String,
    description:
      'The HTML through the allow-list (never the raw HTML): `cid:` images point at their attachment ' +
      '(`/attachments/:id`), remote images are held back in `data-remote-src` (no `src`) unless the request ' +
      'asked for `remoteImages=true`. null when the message has no HTML.',
  })
  html: string | null;

  @ApiProperty({
    example: 1,
    description: 'Remote images of `html` held back (data-remote-src); 0 with remoteImages=true or none.',
  })
  blockedImages: number;

  @ApiProperty({ example: 'md.1764064931.ab12cd@example.com', description: 'Message-ID without angle brackets.' })
  messageId: string;

  @ApiProperty({ example: 'CAF=abc@mail.example.com', nullable: true, type: String })
  inReplyTo: string | null;

  @ApiProperty({ example: 2, nullable: true, type: Number, description: 'The operator who wrote it.' })
  operatorId: number | null;

  @ApiProperty({
    example: null,
    nullable: true,
    type: Number,
    description: 'Kind `side`: the side thread (forward to a third party) it belongs to; null otherwise.',
  })
  sideThreadId: number | null;

  @ApiProperty({ example: '2025-11-25T10:02:11.000Z', format: 'date-time' })
  createdAt: string;

  @ApiProperty({
    example: false,
    description:
      'In GET /requests/:id/messages: text or html was longer than 65536 characters and is cut there; ' +
      'GET /requests/:id/messages/:messageId has the whole message. Always false in a single message.',
  })
  truncated: boolean;

  @ApiProperty({ type: [AttachmentDto] })
  attachments: AttachmentDto[];

  @ApiProperty({ type: DeliveryDto, nullable: true, description: 'For mail we send; null for received mail.' })
  delivery: DeliveryDto | null;
}

/** `GET /requests/:id/messages`: one page of the conversation. */
export class MessageListDto {
  @ApiProperty({ type: [MessageResponseDto], description: 'In conversation order (seq).' })
  items: MessageResponseDto[];

  @ApiProperty({
    example: null,
    nullable: true,
    type: Number,
    description:
      'More messages follow: pass this as `after` for the next page (also in the Link header, rel="next"). ' +
      'null on the last page.',
  })
  nextAfter: number | null;
}

/** Query of `GET /requests/:id/messages/:messageId`. */
export class MessageQuery {
  @ApiPropertyOptional({
    default: false,
    example: false,
    description:
      'Show remote (http/https) images of the HTML: their `src` is given back. Default: held back in ' +
      '`data-remote-src` (tracking pixels load nothing), counted in `blockedImages`.',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    value === 'true' || value === '1' || value === true
      ? true
      : value === 'false' || value === '0' || value === false
        ? false
        : value,
  )
  @IsBoolean()
  remoteImages: boolean = false;
}

/** Query of `GET /requests/:id/messages`: a page, and remoteImages as for one message. */
export class MessagePageQuery extends MessageQuery {
  @ApiPropertyOptional({
    default: 0,
    minimum: 0,
    example: 0,
    description: "Cursor: only messages with a seq greater than this (the previous page's nextAfter).",
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(2_147_483_647)
  after: number = 0;

  @ApiPropertyOptional({
    default: 100,
    minimum: 1,
    maximum: 200,
    example: 100,
    description:
      'Messages per page, at most 200. A page also stops at about 1 MB of bodies (at least one message), ' +
      'and cuts each text and html at 65536 characters (`truncated`).',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit: number = 100;
}

function iso(d: Date | string | null | undefined): string | null {
  return d ? new Date(d).toISOString() : null;
}

/**
 * `visibleText` of a message: the stored new text of received customer and side-thread mail, else
 * (nothing was cut, our own messages, bounces) the text itself.
 */
function newTextOf(m: MessageView['message']): string {
  const received = m.direction === 'in' && (m.kind === 'customer' || m.kind === 'side');
  return received && m.visibleText ? m.visibleText : m.text;
}

/** The attachment whose Content-ID a `cid:` names: exact, else ignoring case. */
function attachmentByContentId(attachments: Attachment[], contentId: string): Attachment | undefined {
  const lower = contentId.toLowerCase();
  return (
    attachments.find((a) => a.contentId === contentId) ??
    attachments.find((a) => a.contentId !== null && a.contentId.toLowerCase() === lower)
  );
}

/**
 * The HTML a response serves: the stored safe HTML (rows from before it: the raw HTML sanitized
 * now, bounded by the page's cut and READ_SANITIZE_MAX_INPUT), `cid:` images at their attachment's
 * download URL, remote images held back unless `remoteImages`.
 */
export function servedHtml(
  m: Pick<Message, 'html' | 'safeHtml'>,
  attachments: Attachment[],
  options: { remoteImages?: boolean; cut?: boolean } = {},
): { html: string | null; blockedImages: number } {
  const stored = m.safeHtml ?? (m.html ? sanitizeMailHtml(m.html, READ_SANITIZE_MAX_INPUT) : null);
  if (stored === null) return { html: null, blockedImages: 0 };
  return renderSafeHtml(stored, {
    remoteImages: options.remoteImages ?? false,
    cut: options.cut ?? false,
    cidUrl: (contentId) => {
      const a = attachmentByContentId(attachments, contentId);
      return a ? `/attachments/${a.id}` : null;
    },
  });
}

/** Maps a message with its attachments and delivery to its response (remote images held back unless asked for). */
export function toMessageResponse(v: MessageView, options: { remoteImages?: boolean } = {}): MessageResponseDto {
  const m = v.message;
  const served = servedHtml(m, v.attachments, { remoteImages: options.remoteImages, cut: v.truncated });
  return {
    id: m.id,
    requestId: m.requestId,
    seq: m.seq,
    direction: m.direction,
    kind: m.kind,
    from: m.fromAddress,
    fromName: m.fromName,
    senderSource: m.senderSource ?? null,
    to: m.toAddresses,
    cc: m.ccAddresses,
    bcc: m.bccAddresses ?? [],
    subject: m.subject,
    text: m.text,
    visibleText: newTextOf(m),
    html: served.html,
    blockedImages: served.blockedImages,
    messageId: m.messageId,
    inReplyTo: m.inReplyTo,
    operatorId: m.operatorId,
    sideThreadId: m.sideThreadId ?? null,
    createdAt: iso(m.createdAt)!,
    truncated: v.truncated ?? false,
    attachments: v.attachments.map((a) => ({
      id: a.id,
      filename: a.filename,
      contentType: a.contentType,
      size: a.size,
    })),
    delivery: v.delivery
      ? {
          status: v.delivery.status,
          attempts: v.delivery.attempts,
          lastError: v.delivery.lastError,
          sentAt: iso(v.delivery.sentAt),
        }
      : null,
  };
}
