import {
  BadRequestException,
  ForbiddenException,
  Inject,
  Injectable,
  Logger,
  ServiceUnavailableException,
} from '@nestjs/common';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { InboundMailService } from '../inbound-mail.service';
import type { IngestResult } from '../ingest-result';
import { readSesNotification } from './ses-notification';
import { fetchBounded, SnsCertificateError, SnsCertificates } from './sns-certificates';
import { parseSnsMessage, type SnsMessage, type SnsType } from './sns-message';
import { knownSignatureVersion, snsSignatureValid } from './sns-signature';
import { snsUrlProblem, topicRegion } from './sns-url-policy';

/**
 * How old a message may be (its Timestamp): SNS gives up retrying an HTTP(S) endpoint within an
 * hour, so an older message is a replay.
 */
export const SNS_MAX_AGE_MS = 2 * 60 * 60 * 1000;
/** Most bytes of a SubscribeURL's answer read (SNS answers with a short XML document). */
const MAX_CONFIRM_ANSWER = 64 * 1024;

/** What POST /inbound/ses answers: the message's Type, the ingest results of a Notification, whether a subscription was confirmed. */
export interface SesAnswer {
  type: SnsType;
  results: IngestResult[];
  confirmed?: boolean;
}

/**
 * Amazon SES receipts through SNS. Every message is checked before anything is done with it:
 * its topic is one of SES_SNS_TOPIC_ARNS, its SigningCertURL is an SNS certificate URL on the SNS host of
 * the topic's region (or under a SNS_EXTRA_URL_PREFIXES prefix), its Timestamp recent, and its signature (version 1 or 2)
 * verifies with that certificate. Then a SubscriptionConfirmation is confirmed (GET SubscribeURL,
 * itself on an SNS host), a Notification's mail is ingested (source `ses`, the SES envelope's
 * recipients first when routing), and an UnsubscribeConfirmation only logged.
 */
@Injectable()
export class SesInboundService {
  private readonly logger = new Logger(SesInboundService.name);
  private readonly certificates: SnsCertificates;
  private readonly topics: ReadonlySet<string>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(InboundMailService) private readonly inbound: Pick<InboundMailService, 'ingest' | 'keepQuarantined'>,
  ) {
    this.certificates = new SnsCertificates();
    this.topics = new Set(config.ses.topicArns);
    if (config.ses.extraUrlPrefixes.length) {
      this.logger.warn(
        `SNS_EXTRA_URL_PREFIXES is set: SNS certificates and SubscribeURLs are also fetched from ${config.ses.extraUrlPrefixes.join(', ')} (meant for tests only)`,
      );
    }
  }

  /** One SNS message (the body as sent): checked, then acted on. */
  async receive(body: unknown, now = Date.now()): Promise<SesAnswer> {
    const message = await this.verified(body, now);
    switch (message.Type) {
      case 'SubscriptionConfirmation':
        return { type: message.Type, results: [], confirmed: await this.confirm(message) };
      case 'UnsubscribeConfirmation':
        this.logger.warn(`SNS unsubscribed this endpoint from ${message.TopicArn}; mail from it stops`);
        return { type: message.Type, results: [] };
      case 'Notification':
        return { type: message.Type, results: await this.deliver(message) };
    }
  }

  /** The message, once its topic, certificate URL, age and signature passed; 400, 403 or 503 otherwise. */
  private async verified(body: unknown, now: number): Promise<SnsMessage> {
    if (!Buffer.isBuffer(body) || !body.length) {
      throw new BadRequestException('the body must be an Amazon SNS message (JSON, sent as text/plain)');
    }
    const parsed = parseSnsMessage(body);
    if (!parsed.ok) throw new BadRequestException(parsed.problem);
    const m = parsed.message;
    if (!this.topics.has(m.TopicArn)) {
      throw new ForbiddenException('TopicArn is not one of SES_SNS_TOPIC_ARNS');
    }
    if (!knownSignatureVersion(m.SignatureVersion)) {
      throw new ForbiddenException('SignatureVersion must be 1 or 2');
    }
    const urlProblem = snsUrlProblem(
      m.SigningCertURL,
      'certificate',
      topicRegion(m.TopicArn),
      this.config.ses.extraUrlPrefixes,
    );
    if (urlProblem) throw new ForbiddenException(`SigningCertURL is not trusted: ${urlProblem}`);
    const at = Date.parse(m.Timestamp);
    if (!Number.isFinite(at) || now - at > SNS_MAX_AGE_MS || at - now > 15 * 60 * 1000) {
      throw new ForbiddenException('Timestamp is not within the last two hours');
    }
    let certificate;
    try {
      certificate = await this.certificates.get(m.SigningCertURL, now);
    } catch (e) {
      if (!(e instanceof SnsCertificateError)) throw e;
      if (e.kind === 'unreachable') throw new ServiceUnavailableException(`${e.message}; retry later`);
      throw new ForbiddenException(e.message);
    }
    if (!snsSignatureValid(m, certificate)) {
      this.logger.warn(`SNS message ${m.MessageId.slice(0, 100)} refused: its signature does not verify`);
      throw new ForbiddenException('the SNS signature does not verify');
    }
    return m;
  }

  /**
   * Confirms a subscription of an allowed topic: GET its SubscribeURL (https on the SNS host of the
   * topic's region, a ConfirmSubscription for this topic). 503 when SNS cannot be reached or refuses, so SNS sends the confirmation again.
   */
  private async confirm(m: SnsMessage): Promise<boolean> {
    const url = m.SubscribeURL!;
    const problem = snsUrlProblem(url, 'subscribe', topicRegion(m.TopicArn), this.config.ses.extraUrlPrefixes);
    if (problem) throw new ForbiddenException(`SubscribeURL is not trusted: ${problem}`);
    const topic = new URL(url).searchParams.get('TopicArn');
    if (topic !== null && topic !== m.TopicArn) throw new ForbiddenException('SubscribeURL names another topic');
    let status: number;
    try {
      status = (await fetchBounded(url, MAX_CONFIRM_ANSWER)).status;
    } catch (e) {
      throw new ServiceUnavailableException(`the subscription could not be confirmed: ${(e as Error).message}`);
    }
    if (status !== 200)
      throw new ServiceUnavailableException(`the subscription could not be confirmed: HTTP ${status}`);
    this.logger.log(`SNS subscription to ${m.TopicArn} confirmed`);
    return true;
  }

  /** A Notification: its mail ingested (or, without content, kept in quarantine); anything else answered with no result. */
  private async deliver(m: SnsMessage): Promise<IngestResult[]> {
    const n = readSesNotification(m.Message);
    switch (n.kind) {
      case 'invalid':
        throw new BadRequestException(n.problem);
      case 'other':
        this.logger.log(`SES notification ${n.notificationType} from ${m.TopicArn}: no mail in it`);
        return [];
      case 'without-content':
        return [await this.inbound.keepQuarantined(n.placeholder, 'ses', n.reason)];
      case 'mail':
        return [
          await this.inbound.ingest(n.raw, 'ses', {
            envelopeFrom: n.envelopeFrom,
            envelopeTo: n.envelopeTo,
            handOver: true,
          }),
        ];
    }
  }
}
