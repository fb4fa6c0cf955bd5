import { Body, Controller, Delete, Get, Param, Patch, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { AdminApi } from '../common/api.decorators';
import { ErrorResponseDto } from '../common/error.dto';
import { ParseIdPipe } from '../common/parse-id.pipe';
import { CreateMailboxDto, MailboxDto, MailboxListDto, toMailboxResponse, UpdateMailboxDto } from './mailboxes.dto';
import { MailboxesService } from './mailboxes.service';

/**
 * Mailboxes (admins): the support addresses, each with its IMAP and SMTP servers (password or
 * OAuth2), group and signature. Passwords, client secrets and tokens are write-only.
 */
@AdminApi('mailboxes')
@Controller('mailboxes')
export class MailboxesController {
  constructor(private readonly mailboxes: MailboxesService) {}

  @Get()
  @ApiOperation({ summary: 'List the mailboxes (the default one, from the environment, included)' })
  @ApiOkResponse({ type: MailboxListDto })
  async list(): Promise<MailboxListDto> {
    return { items: (await this.mailboxes.list()).map(toMailboxResponse) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One mailbox, with its poller state' })
  @ApiOkResponse({ type: MailboxDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'id is not a positive integer' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such mailbox' })
  async get(@Param('id', ParseIdPipe) id: number): Promise<MailboxDto> {
    return toMailboxResponse(await this.mailboxes.get(id));
  }

  @Post()
  @ApiOperation({
    summary: 'Add a mailbox',
    description:
      'Passwords in imapUrl/smtpUrl and oauth2.clientSecret are stored encrypted and never shown. Polling starts within seconds, on whichever instance leads the mailbox.',
  })
  @ApiCreatedResponse({ type: MailboxDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'A field is invalid, or groupId names no group' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: "The address or an alias is already a mailbox's" })
  async create(@Body() body: CreateMailboxDto): Promise<MailboxDto> {
    return toMailboxResponse(await this.mailboxes.create(body));
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Change a mailbox; `state: "active"` re-enables a deactivated one',
    description:
      "The default mailbox's address, name, servers and OAuth2 come from SUPPORT_ADDRESS, SUPPORT_NAME, IMAP_URL and SMTP_URL: changing them here answers 409.",
  })
  @ApiOkResponse({ type: MailboxDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'A field is invalid, or groupId names no group' })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such mailbox' })
  @ApiConflictResponse({
    type: ErrorResponseDto,
    description: 'The address or an alias is taken, or a field of the default mailbox the environment sets',
  })
  async update(@Param('id', ParseIdPipe) id: number, @Body() body: UpdateMailboxDto): Promise<MailboxDto> {
    return toMailboxResponse(await this.mailboxes.update(id, body));
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Deactivate a mailbox (state disabled): polling and its own sending stop; its requests and addresses stay',
  })
  @ApiOkResponse({ type: MailboxDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'No such mailbox' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'The default mailbox cannot be deactivated' })
  async remove(@Param('id', ParseIdPipe) id: number): Promise<MailboxDto> {
    return toMailboxResponse(await this.mailboxes.deactivate(id));
  }
}
