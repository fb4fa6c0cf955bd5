import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Patch,
  Post,
  Put,
  Query,
} from '@nestjs/common';
import { OperatorApi } from '../common/api.decorators';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { type AuthOperator, CurrentOperator, Roles } from '../common/auth.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { ListRequestsQuery, TagCountsQuery } from './dto/list-requests.query';
import { MergeRequestDto, SplitRequestDto } from './dto/merge.dto';
import { ReplaceParticipantsDto } from './dto/participants.dto';
import { RequestEventListDto, toRequestEventResponse } from './dto/request-event.dto';
import {
  ReplaceTagsDto,
  RequestPageDto,
  RequestResponseDto,
  TagCountListDto,
  toRequestResponse,
  UpdateRequestDto,
} from './dto/request.dto';
import { UpdateSlaDto } from './dto/sla.dto';
import { ParticipantsService } from './participants.service';
import { toPresenceResponse } from './dto/presence.dto';
import { PresenceService } from './presence.service';
import { RequestMergeService } from './request-merge.service';
import { RequestQueryService } from './request-query.service';
import type { RequestStatus } from './request.entity';
import { RequestsService } from './requests.service';
import { MAX_TAGS, normalizeTags } from './tags';
import { ReadsFromReplica } from '../replicas/reads-from-replica.decorator';

/**
 * Reading requests: the queue and one request with its history. Taking, closing and writing are in
 * MessagesController (they belong to the conversation).
 */
@OperatorApi('requests')
@Controller('requests')
export class RequestsController {
  constructor(
    private readonly query: RequestQueryService,
    private readonly requests: RequestsService,
    private readonly merges: RequestMergeService,
    private readonly participants: ParticipantsService,
    private readonly presence: PresenceService,
  ) {}

  @Get()
  @ReadsFromReplica()
  @ApiOperation({
    summary:
      'List requests: filter by status, operator, mailbox, group, customer, dates, text, priority, tags; sort; paginate. ' +
      "An operator in groups sees only those groups' requests",
  })
  @ApiOkResponse({ type: RequestPageDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description:
      'Unknown status, priority, sort field or parameter; a tag value that is no tag; invalid date; limit over 100',
  })
  async list(@Query() query: ListRequestsQuery, @CurrentOperator() actor: AuthOperator): Promise<RequestPageDto> {
    const page = await this.query.list(query, actor);
    return { ...page, items: page.items.map(toRequestResponse) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Get one request, with its participants and who is viewing or replying to it (presence)' })
  @ApiOkResponse({ type: RequestResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'id is not a positive integer' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: "No such request (or not in the operator's groups)" })
  async get(@Param('id', ParseIdPipe) id: number, @CurrentOperator() actor: AuthOperator): Promise<RequestResponseDto> {
    const request = await this.requests.findVisible(id, actor);
    if (!request) throw new NotFoundException(`request ${id} does not exist`);
    const [participants, presence] = await Promise.all([this.participants.list(id), this.presence.listSeen(id)]);
    return { ...toRequestResponse(request), participants, presence: presence.map(toPresenceResponse) };
  }

  @Put(':id/participants')
  @ApiOperation({
    summary:
      "Replace a request's participants (the people in Cc of operator mail by default, whose mail threads into it); " +
      'a participants_changed event records who was added and removed',
  })
  @ApiOkResponse({ type: RequestResponseDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'Invalid id or body: an address not valid or given twice, more than 50, the customer, our own address',
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: "No such request (or not in the operator's groups)" })
  async replaceParticipants(
    @Param('id', ParseIdPipe) id: number,
    @Body() body: ReplaceParticipantsDto,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<RequestResponseDto> {
    const people = body.participants.map((p) => ({ email: p.email, name: p.name ?? null }));
    const participants = await this.participants.replace(id, actor, people);
    return { ...toRequestResponse((await this.requests.findById(id))!), participants };
  }

  @Patch(':id')
  @ApiOperation({
    summary:
      "Change a request's priority (low, normal, high, urgent): its SLA due dates are computed again from its creation " +
      'time for the new priority, unless an admin set them; a priority_changed event records from and to',
  })
  @ApiOkResponse({ type: RequestResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid id, or priority missing or unknown' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: "No such request (or not in the operator's groups)" })
  async update(
    @Param('id', ParseIdPipe) id: number,
    @Body() body: UpdateRequestDto,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<RequestResponseDto> {
    if (!(await this.requests.findVisible(id, actor))) throw new NotFoundException(`request ${id} does not exist`);
    if (!(await this.requests.setPriority(id, body.priority, actor.id))) {
      throw new NotFoundException(`request ${id} does not exist`);
    }
    return {
      ...toRequestResponse((await this.requests.findById(id))!),
      participants: await this.participants.list(id),
    };
  }

  @Put(':id/tags')
  @ApiOperation({
    summary:
      "Replace a request's tags (normalized: lower-case, inner spaces as -, duplicates once; at most 20); " +
      'a tags_changed event records those added and removed',
  })
  @ApiOkResponse({ type: RequestResponseDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description:
      'Invalid id or body: a tag empty, over 50 characters or with other characters than letters, digits and - _ . : / + #; more than 20 tags',
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: "No such request (or not in the operator's groups)" })
  async replaceTags(
    @Param('id', ParseIdPipe) id: number,
    @Body() body: ReplaceTagsDto,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<RequestResponseDto> {
    const { tags, invalid, tooMany } = normalizeTags(body.tags);
    if (invalid.length) {
      throw new BadRequestException(
        `not a tag: ${invalid
          .slice(0, 5)
          .map((t) => JSON.stringify(t.slice(0, 60)))
          .join(', ')} (1-50 letters, digits or - _ . : / + #)`,
      );
    }
    if (tooMany) throw new BadRequestException(`at most ${MAX_TAGS} tags`);
    if (!(await this.requests.findVisible(id, actor))) throw new NotFoundException(`request ${id} does not exist`);
    if (!(await this.requests.setTags(id, tags, actor.id))) throw new NotFoundException(`request ${id} does not exist`);
    return {
      ...toRequestResponse((await this.requests.findById(id))!),
      participants: await this.participants.list(id),
    };
  }

  @Patch(':id/sla')
  @Roles('admin')
  @ApiOperation({ summary: 'Override the SLA due dates of one request (admins); null removes a target' })
  @ApiOkResponse({ type: RequestResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid id or date, or an empty body' })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Admins only' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such request' })
  async updateSla(
    @Param('id', ParseIdPipe) id: number,
    @Body() body: UpdateSlaDto,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<RequestResponseDto> {
    if (body.firstResponseDueAt === undefined && body.resolutionDueAt === undefined) {
      throw new BadRequestException('give firstResponseDueAt, resolutionDueAt or both');
    }
    const date = (v: string | null | undefined) => (v === undefined ? undefined : v === null ? null : new Date(v));
    const found = await this.requests.setDueDates(
      id,
      { firstResponseDueAt: date(body.firstResponseDueAt), resolutionDueAt: date(body.resolutionDueAt) },
      actor.id,
    );
    if (!found) throw new NotFoundException(`request ${id} does not exist`);
    return {
      ...toRequestResponse((await this.requests.findById(id))!),
      participants: await this.participants.list(id),
    };
  }

  @Get(':id/events')
  @ApiOperation({ summary: 'Request history, oldest first' })
  @ApiOkResponse({ type: RequestEventListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'id is not a positive integer' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: "No such request (or not in the operator's groups)" })
  async events(
    @Param('id', ParseIdPipe) id: number,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<RequestEventListDto> {
    if (!(await this.requests.findVisible(id, actor))) throw new NotFoundException(`request ${id} does not exist`);
    return { items: (await this.requests.listEvents(id)).map(toRequestEventResponse) };
  }

  @Post(':id/merge')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Merge this request into intoId: its messages, attachments, history and participants move there; it is closed with mergedIntoId and no mail. Returns the target',
  })
  @ApiOkResponse({ type: RequestResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Invalid id or body, or intoId is this request' })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: "No such request or target (or not in the operator's groups)",
  })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'This request is merged already, or the target is closed or merged',
  })
  async merge(
    @Param('id', ParseIdPipe) id: number,
    @Body() body: MergeRequestDto,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<RequestResponseDto> {
    return toRequestResponse(await this.merges.merge(id, body.intoId, actor));
  }

  @Post(':id/split')
  @ApiOperation({
    summary:
      'Split a new request off this one, holding the customer message messageId (and with following, every later one). No mail',
  })
  @ApiCreatedResponse({ type: RequestResponseDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'Invalid id or body, or messageId is not a customer message of this request',
  })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: "No such request (or not in the operator's groups)" })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'The request is merged, or the split would leave it no message',
  })
  async split(
    @Param('id', ParseIdPipe) id: number,
    @Body() body: SplitRequestDto,
    @CurrentOperator() actor: AuthOperator,
  ): Promise<RequestResponseDto> {
    return toRequestResponse(await this.merges.split(id, body, actor));
  }
}

/** The tags in use (`GET /tags`), counted over the requests the operator sees. */
@OperatorApi('requests')
@Controller('tags')
export class TagsController {
  constructor(private readonly requests: RequestsService) {}

  @Get()
  @ApiOperation({
    summary:
      'Tags in use and how many requests carry each, most used first (at most 500): over open requests (new, in_progress) ' +
      "unless status says otherwise; an operator in groups counts only their groups' requests",
  })
  @ApiOkResponse({ type: TagCountListDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Unknown status or parameter' })
  async list(@Query() query: TagCountsQuery, @CurrentOperator() actor: AuthOperator): Promise<TagCountListDto> {
    const statuses: RequestStatus[] = query.status?.length ? [...new Set(query.status)] : ['new', 'in_progress'];
    return { items: await this.requests.tagCounts(statuses, actor) };
  }
}
