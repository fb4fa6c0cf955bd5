import {
  BadRequestException,
  Inject,
  Injectable,
  NotAcceptableException,
  ServiceUnavailableException,
} from '@nestjs/common';
import * as crypto from 'node:crypto';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { InboundMailService } from '../inbound-mail.service';
import type { IngestResult } from '../ingest-result';
import { mailgunMail } from './mailgun-payload';
import { MAILGUN_MAX_AGE_SECONDS, mailgunSignatureProblem } from './mailgun-signature';
import { buildRfc5322, type ParsedFields } from './mime-builder';
import { postmarkMail } from './postmark-payload';
import type { ProviderForm } from './provider-form';
import type { ProviderMail } from './provider-mail';
import { ProviderReplayRepository, type ReplayStore } from './provider-replay.repository';
import { sendgridMail } from './sendgrid-payload';

/** What a provider's call is answered with: one result, as POST /inbound/mail answers. */
export interface ProviderResults {
  results: IngestResult[];
}

/** The message of the 503 while MAILGUN_SIGNING_KEY is unset (Mailgun retries for 8 hours). */
export const MAILGUN_NOT_CONFIGURED = 'MAILGUN_SIGNING_KEY is not set: nothing was stored, Mailgun will retry';

/** The hash of a form's fields and files in a stable order: what a token's call carried. */
function formSha256(form: ProviderForm): string {
  const hash = crypto.createHash('sha256');
  for (const name of Object.keys(form.fields).sort())
    hash.update(`${name}=${form.fields[name].length}:`).update(form.fields[name]);
  for (const file of form.files) hash.update(`${file.field}:${file.content.length}:`).update(file.content);
  return hash.digest('hex');
}

/** The mail built from a provider's fields; 400 where they cannot make one. */
async function buildMail(fields: ParsedFields): Promise<Buffer> {
  try {
    return await buildRfc5322(fields);
  } catch (e) {
    throw new BadRequestException(`the fields do not make a mail: ${(e as Error).message}`);
  }
}

/**
 * The mail providers' inbound webhooks (Mailgun, SendGrid, Postmark): each call's mail, raw or
 * built from the parsed fields (mime-builder.ts), goes through the one ingest pipeline with the
 * envelope's recipients, and is answered after the commit. Credentials by token were checked
 * before the body was read (provider-gate.ts); Mailgun's signature, inside the body, is checked
 * here before anything is built or stored, and its token remembered against replay.
 */
@Injectable()
export class ProviderInboundService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly inbound: InboundMailService,
    @Inject(ProviderReplayRepository) private readonly replay: ReplayStore,
  ) {}

  /**
   * A Mailgun route forward: signature (fresh, matching MAILGUN_SIGNING_KEY), then the token
   * claimed (a replay: 406), then the mail ingested and the token marked done. The same call
   * retried after a failure (same token, same fields, not done) goes through again (the ingest's
   * dedupe makes that safe); the same token with other fields is a replay.
   */
  async receiveMailgun(form: ProviderForm): Promise<ProviderResults> {
    const key = this.config.inbound.mailgunSigningKey;
    if (!key) throw new ServiceUnavailableException(MAILGUN_NOT_CONFIGURED);
    const { timestamp, token, signature } = form.fields;
    const problem = mailgunSignatureProblem(key, { timestamp, token, signature });
    if (problem) throw new NotAcceptableException(`Mailgun signature refused: ${problem}`);
    const claim = await this.replay.claim('mailgun', token, formSha256(form));
    if (claim === 'replay') throw new NotAcceptableException('Mailgun signature refused: this token was used already');
    const result = await this.ingest(mailgunMail(form));
    await this.replay.complete('mailgun', token);
    // Tokens past the freshness window are refused by their timestamp: their rows can go.
    if (claim === 'fresh') await this.replay.prune(2 * MAILGUN_MAX_AGE_SECONDS);
    return result;
  }

  /** A SendGrid Inbound Parse call, raw (`email`) or parsed. */
  receiveSendgrid(form: ProviderForm): Promise<ProviderResults> {
    return this.ingest(sendgridMail(form));
  }

  /** A Postmark inbound JSON call, `RawEmail` or its fields. */
  receivePostmark(body: Record<string, unknown>): Promise<ProviderResults> {
    return this.ingest(postmarkMail(body));
  }

  private async ingest(mail: ProviderMail): Promise<ProviderResults> {
    const raw = mail.raw ?? (mail.fields ? await buildMail(mail.fields) : null);
    if (!raw?.length) throw new BadRequestException('the call holds no mail');
    const result = await this.inbound.ingest(raw, 'webhook', {
      envelopeTo: mail.envelopeTo.length ? mail.envelopeTo : null,
      envelopeFrom: mail.envelopeFrom,
      handOver: true,
    });
    return { results: [result] };
  }
}
