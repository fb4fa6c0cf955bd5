import { PageDtoOf } from '../../common/pagination';
import type { IsoString } from '../../database/timestamps';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsIn, IsString, MaxLength } from 'class-validator';
import { REQUEST_STATUSES, type RequestStatus, ServiceRequest } from '../request.entity';
import { PresenceDto } from './presence.dto';
import { MAX_TAGS, PRIORITIES, type Priority } from '../tags';

/** The customer of a request. */
export class RequestCustomerDto {
  @ApiProperty({ example: 7 })
  id: number;

  @ApiProperty({ example: 'jane@example.com' })
  email: string;

  @ApiProperty({ example: 'Jane Doe', nullable: true, type: String })
  name: string | null;
}

/** One other person of a request: an address of the customer's To/Cc, or one an operator added. */
export class ParticipantDto {
  @ApiProperty({ example: 'bob@example.com', description: 'Lower-case.' })
  email: string;

  @ApiProperty({ example: 'Bob Colleague', nullable: true, type: String })
  name: string | null;
}

/** The operator a request is assigned to. */
export class RequestOperatorDto {
  @ApiProperty({ example: 2 })
  id: number;

  @ApiProperty({ example: 'Ada Lovelace' })
  name: string;

  @ApiProperty({ example: 'ada@example.com' })
  email: string;
}

/** The mailbox (support address) a request's mail came to. */
export class RequestMailboxDto {
  @ApiProperty({ example: 1 })
  id: number;

  @ApiProperty({ example: 'support@example.com' })
  address: string;
}

/** The customer's rating of a closed request. */
export class SatisfactionDto {
  @ApiProperty({ example: 5, minimum: 1, maximum: 5, description: '1 (poor) to 5 (excellent).' })
  rating: number;

  @ApiProperty({ example: '2025-11-26T08:15:00.000Z', format: 'date-time' })
  ratedAt: string;
}

/** A request as the API shows it. */
export class RequestResponseDto {
  @ApiProperty({ example: 42 })
  id: number;

  @ApiProperty({ enum: REQUEST_STATUSES, example: 'in_progress' })
  status: RequestStatus;

  @ApiProperty({ example: 'Printer on floor 3 is jammed' })
  subject: string;

  @ApiProperty({ type: RequestCustomerDto })
  customer: RequestCustomerDto;

  @ApiPropertyOptional({
    type: [ParticipantDto],
    description:
      "The request's participants (the To and Cc of the customer's mail that are not our own addresses, never Bcc; " +
      "those an operator Cc'd or listed): in Cc of operator mail by default, and their mail threads into the request. " +
      'In the single-request answers (GET /requests/:id, PATCH /requests/:id/sla, PUT /requests/:id/participants); ' +
      'absent from the list and the answers of assign, unassign and close.',
  })
  participants?: ParticipantDto[];

  @ApiPropertyOptional({
    type: [PresenceDto],
    description:
      'Who is viewing or replying to the request right now (PUT /requests/:id/presence; every operator on it, the ' +
      'caller included: compare operatorId with your own). In GET /requests/:id only.',
  })
  presence?: PresenceDto[];

  @ApiProperty({ type: RequestOperatorDto, nullable: true })
  operator: RequestOperatorDto | null;

  @ApiProperty({
    example: 17,
    nullable: true,
    type: Number,
    description: 'The closed request this one follows up, if any.',
  })
  previousRequestId: number | null;

  @ApiProperty({ example: '2025-11-25T09:30:00.000Z', format: 'date-time' })
  createdAt: string;

  @ApiProperty({ example: '2025-11-25T10:02:11.000Z', format: 'date-time' })
  updatedAt: string;

  @ApiProperty({ example: null, nullable: true, type: String, format: 'date-time' })
  closedAt: string | null;

  @ApiProperty({ example: '2025-11-25T09:58:40.000Z', nullable: true, type: String, format: 'date-time' })
  lastMessageAt: string | null;

  @ApiProperty({
    example: '2025-11-25T10:02:11.000Z',
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'First operator message.',
  })
  firstResponseAt: string | null;

  @ApiProperty({
    example: '2025-11-25T13:30:00.000Z',
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'First-response target (SLA, in business time); null = none.',
  })
  firstResponseDueAt: string | null;

  @ApiProperty({
    example: '2025-11-27T09:30:00.000Z',
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'Resolution target (SLA, in business time); null = none.',
  })
  resolutionDueAt: string | null;

  @ApiProperty({
    example: false,
    description: 'Open and past a target: first response due without an answer, or resolution due.',
  })
  overdue: boolean;

  @ApiProperty({ type: SatisfactionDto, nullable: true, description: "The customer's rating, once given." })
  satisfaction: SatisfactionDto | null;

  @ApiProperty({
    type: RequestMailboxDto,
    nullable: true,
    description:
      'The mailbox the request belongs to (the default mailbox for requests from before mailboxes); null only ' +
      'while no mailbox exists yet.',
  })
  mailbox: RequestMailboxDto | null;

  @ApiProperty({
    example: 2,
    nullable: true,
    type: Number,
    description:
      "The group (queue) working the request: its mailbox's group when it was opened. null: none (seen only by " +
      'admins and operators in no group).',
  })
  groupId: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: null,
    description: 'The request this one was merged into (it is closed and its messages moved there); null otherwise',
  })
  mergedIntoId: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: null,
    description: 'The request this one was split off; null otherwise',
  })
  splitFromId: number | null;

  @ApiProperty({
    enum: PRIORITIES,
    example: 'normal',
    description: 'low, normal, high or urgent: sets the SLA targets (new requests are normal; PATCH /requests/:id)',
  })
  priority: Priority;

  @ApiProperty({
    type: [String],
    example: ['billing', 'vip'],
    description: 'Free tags, normalized (lower-case, inner spaces as -) and sorted (PUT /requests/:id/tags)',
  })
  tags: string[];
}

/** Body of `PATCH /requests/:id`: the fields an operator may change (today the priority). */
export class UpdateRequestDto {
  @ApiProperty({
    enum: PRIORITIES,
    example: 'high',
    description:
      'The new priority; the SLA due dates are computed again from the creation time unless an admin set them',
  })
  @IsIn(PRIORITIES, { message: `priority must be one of ${PRIORITIES.join(', ')}` })
  priority: Priority;
}

/** Body of `PUT /requests/:id/tags`: the request's tags, replacing the ones it has. */
export class ReplaceTagsDto {
  @ApiProperty({
    type: [String],
    example: ['Billing', 'vip customer'],
    description: `Up to ${MAX_TAGS} tags (an empty list removes all). Each is normalized: trimmed, lower-case, inner whitespace as one '-'; then 1-50 letters, digits or - _ . : / + #. Duplicates after normalization count once`,
  })
  @IsArray()
  @ArrayMaxSize(100)
  @IsString({ each: true })
  @MaxLength(200, { each: true })
  tags: string[];
}

/** One tag of `GET /tags` and how many requests carry it. */
export class TagCountDto {
  @ApiProperty({ example: 'billing' })
  tag: string;

  @ApiProperty({
    example: 12,
    description: 'Requests of the asked statuses (default: open) with this tag, in your groups',
  })
  count: number;
}

/** `GET /tags`: the tags in use, most used first. */
export class TagCountListDto {
  @ApiProperty({ type: [TagCountDto] })
  items: TagCountDto[];
}

/** One page of `GET /requests`. */
export class RequestPageDto extends PageDtoOf(RequestResponseDto) {
  @ApiProperty({
    example: true,
    description:
      'false when more requests match than REQUESTS_COUNT_LIMIT (default 1,000) and this page does not show the end: `total` is then a lower bound (the limit, or the end of this page if further); every page can still be read, and a page that is not full is the last one (its total is exact). A search ranked by relevance (`q` without `sort`) is counted the same way (exactly every match only with REQUESTS_SEARCH_RANK_LIMIT=0).',
  })
  totalExact: boolean;
}

/**
 * A request as toRequestResponse reads it: the entity, or a row read with ISO_TIMESTAMPS whose
 * dates are already the ISO strings of the answer.
 */
export type RequestView = {
  [K in keyof ServiceRequest]: ServiceRequest[K] extends Date
    ? Date | IsoString
    : ServiceRequest[K] extends Date | null
      ? Date | IsoString | null
      : ServiceRequest[K];
};

function iso(d: Date | IsoString | null | undefined): string | null {
  if (!d) return null;
  return typeof d === 'string' ? d : d.toISOString();
}

/** Open and past a target (the same rule as `GET /requests?overdue=true`). */
export function isOverdue(
  r: Pick<RequestView, 'status' | 'firstResponseAt' | 'firstResponseDueAt' | 'resolutionDueAt'>,
  now: number,
): boolean {
  if (r.status === 'closed') return false;
  const past = (d: Date | IsoString | null) =>
    d !== null && d !== undefined && (typeof d === 'string' ? Date.parse(d) : d.getTime()) < now;
  return (r.firstResponseAt === null && past(r.firstResponseDueAt)) || past(r.resolutionDueAt);
}

/** Maps a request (with customer and operator loaded) to its response. */
export function toRequestResponse(r: RequestView): RequestResponseDto {
  if (!r.customer) throw new Error(`request ${r.id} was loaded without its customer`);
  return {
    id: r.id,
    status: r.status,
    subject: r.subject,
    customer: { id: r.customer.id, email: r.customer.email, name: r.customer.name },
    operator: r.operator ? { id: r.operator.id, name: r.operator.name, email: r.operator.email } : null,
    previousRequestId: r.previousRequestId,
    createdAt: iso(r.createdAt)!,
    updatedAt: iso(r.updatedAt)!,
    closedAt: iso(r.closedAt),
    lastMessageAt: iso(r.lastMessageAt),
    firstResponseAt: iso(r.firstResponseAt),
    firstResponseDueAt: iso(r.firstResponseDueAt),
    resolutionDueAt: iso(r.resolutionDueAt),
    overdue: isOverdue(r, Date.now()),
    satisfaction:
      r.satisfactionRating && r.satisfactionRatedAt
        ? { rating: r.satisfactionRating, ratedAt: iso(r.satisfactionRatedAt)! }
        : null,
    mailbox: r.mailbox ? { id: r.mailbox.id, address: r.mailbox.address } : null,
    groupId: r.groupId ?? null,
    mergedIntoId: r.mergedIntoId ?? null,
    splitFromId: r.splitFromId ?? null,
    priority: r.priority ?? 'normal',
    tags: r.tags ?? [],
  };
}
