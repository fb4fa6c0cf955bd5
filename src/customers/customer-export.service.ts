import { Injectable, Logger, NotFoundException } from '@nestjs/common';
import { PassThrough, Readable } from 'node:stream';
import { ZipFile } from 'yazl';
import { isBlobMissing } from '../database/database-errors';
import { InboundMailService } from '../inbound-mail/inbound-mail.service';
import { MessagesService } from '../messages/messages.service';
import type { RequestActor } from '../requests/request-scope';
import { CustomerRightsRepository, type ExportAttachment } from './customer-rights.repository';

/** An archive being written: its stream (the HTTP answer) and a file name for it. */
export interface CustomerArchive {
  filename: string;
  stream: Readable;
}

/**
 * A name from outside made a safe name of one zip entry: no path separators, control or reserved
 * characters, no leading dots (`..`), at most 100 characters; `fallback` when nothing is left.
 */
export function entryName(name: string | null | undefined, fallback: string): string {
  const safe = (name ?? '')
    // eslint-disable-next-line no-control-regex -- control characters are what this removes
    .replace(/[\x00-\x1f\x7f/\\:*?"<>|]+/g, '_')
    .replace(/^[.\s]+|[.\s]+$/g, '')
    .slice(0, 100);
  return safe || fallback;
}

/** JSON text of an export entry (2-space indented, UTF-8). */
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value, null, 2) + '\n', 'utf8');

/** An entry's content: bytes made here, or a stream of stored bytes (an attachment, a raw mail). */
type EntryContent = Buffer | Readable;

/** A stream that runs `read` only when the zip gets to its entry, and yields its content. */
function lazy(read: () => Promise<EntryContent>): (cb: (err: unknown, stream: NodeJS.ReadableStream) => void) => void {
  return (cb) => {
    read().then(
      (content) => cb(null, Buffer.isBuffer(content) ? Readable.from([content]) : content),
      (err: unknown) => cb(err, new PassThrough()),
    );
  };
}

/**
 * `GET /customers/:id/export`: everything stored about a customer as one zip, written while it is
 * sent (docs/privacy.md lists what it holds). What is known up front is metadata only (ids, file
 * names); each entry's content is read when the zip gets to it and the answer's backpressure lets
 * it go on, so one attachment or raw mail at a time is in memory, never the archive. The bytes of
 * attachments and raw mails are read by their own services only (MessagesService.openAttachment,
 * InboundMailService.rawMail), as streams from the blob store: where bytes are stored is their business.
 *
 * The reads are not one snapshot (a transaction held for as long as a slow client downloads would
 * hold the database back): a message or file removed while the archive is written is left out,
 * with a note in its place.
 */
@Injectable()
export class CustomerExportService {
  private readonly logger = new Logger('CustomerExport');

  constructor(
    private readonly data: CustomerRightsRepository,
    private readonly messages: MessagesService,
    private readonly inbound: InboundMailService,
  ) {}

  /** The archive of customer `id` (404 when unknown), started; its entries are read as it is sent. */
  async archive(id: number, actor: RequestActor): Promise<CustomerArchive> {
    const customer = await this.data.customer(id);
    if (!customer) throw new NotFoundException(`customer ${id} does not exist`);
    const email = String(customer.email).toLowerCase();
    const requests = await this.data.requests(id);
    const requestIds = requests.map((r) => Number(r.id));
    const theirs = new Set(requestIds);
    const messageIds = await this.data.messageIds(requestIds, email);
    const attachments = await this.data.attachmentsOf(messageIds.map((m) => m.id));
    const inbound = await this.data.inboundOf(
      requestIds,
      messageIds.map((m) => m.id),
      email,
    );
    const outbox = await this.data.outboxOf(email);

    const entries: Array<{ path: string; read: () => Promise<EntryContent>; compress: boolean; what: string }> = [];
    const add = (path: string, read: () => Promise<EntryContent>, compress = true, what = ''): void => {
      entries.push({ path, read, compress, what });
    };
    const folderOf = (requestId: number): string =>
      theirs.has(requestId) ? `requests/${requestId}` : `other-requests/${requestId}`;

    add('customer.json', () => Promise.resolve(json(customer)), true, 'the customer');
    for (const request of requests) {
      const rid = Number(request.id);
      add(
        `requests/${rid}/request.json`,
        async () =>
          json({ ...request, participants: await this.data.participants(rid), events: await this.data.events(rid) }),
        true,
        'the request: fields, tags, participants, history',
      );
    }
    const filesOf = new Map<number, ExportAttachment[]>();
    for (const a of attachments) filesOf.set(a.messageId, [...(filesOf.get(a.messageId) ?? []), a]);
    for (const m of messageIds) {
      const base = `${folderOf(m.requestId)}/messages/${m.seq}`;
      const files = filesOf.get(m.id) ?? [];
      const paths = new Map(
        files.map((a) => [a.id, `${base}-attachments/${a.id}-${entryName(a.filename, 'attachment')}`]),
      );
      add(`${base}.json`, async () => {
        const message = await this.data.message(m.id);
        if (!message) return json({ id: m.id, note: 'this message was deleted while the export was written' });
        return json({ ...message, attachments: files.map((a) => ({ ...a, file: paths.get(a.id) })) });
      });
      for (const a of files) {
        add(paths.get(a.id)!, () => this.attachmentBytes(a, actor), false, `${a.size} bytes, ${a.contentType}`);
      }
    }
    add('raw-mail/index.json', () => Promise.resolve(json(inbound)), true, 'the mails received, what became of each');
    for (const mail of inbound) {
      add(`raw-mail/${String(mail.id)}.eml`, () => this.rawMailBytes(String(mail.id)), true, `${String(mail.status)}`);
    }
    for (const o of outbox)
      add(`sent-mail/${String(o.id)}.json`, () => Promise.resolve(json(o)), true, 'a mail to them');

    const zip = new ZipFile();
    zip.addBuffer(
      readme(
        id,
        entries.map((e) => (e.what ? `${e.path}  (${e.what})` : e.path)),
      ),
      'README.txt',
    );
    for (const e of entries) zip.addReadStreamLazy(e.path, { compress: e.compress }, lazy(e.read));
    zip.end();
    const out = zip.outputStream as Readable;
    zip.on('error', (e: Error) => {
      this.logger.error(`export of customer ${id} failed while it was sent: ${e.message}`);
      out.destroy(e);
    });
    return { filename: `customer-${id}.zip`, stream: out };
  }

  /** An attachment's bytes, read by the one reader of attachment bytes (or a note that it is gone). */
  private async attachmentBytes(a: ExportAttachment, actor: RequestActor): Promise<EntryContent> {
    const found = await this.messages.openAttachment(a.id, actor).catch(missingBlob);
    if (found === MISSING) {
      this.logger.error(`export: attachment ${a.id}'s bytes are missing from the blob store (${a.sha256})`);
      return Buffer.from('[this attachment is missing from the blob store]\n');
    }
    return found ? found.stream : Buffer.from('[this attachment was deleted while the export was written]\n');
  }

  /** A raw mail's bytes, read by the one reader of raw mail bytes (or a note that it is gone). */
  private async rawMailBytes(id: string): Promise<EntryContent> {
    const raw = await this.inbound.rawMail(id).catch(missingBlob);
    if (raw === MISSING) {
      this.logger.error(`export: received mail ${id}'s raw bytes are missing from the blob store`);
      return Buffer.from('[this mail is missing from the blob store]\n');
    }
    return (
      raw ??
      Buffer.from('[this mail was deleted while the export was written, or is past RAW_MAIL_RETENTION_DAYS]\n')
    );
  }
}

/** A blob the store lost (BlobMissingError): the archive says so in its place, the rest is still exported. */
const MISSING = Symbol('missing');
function missingBlob(e: unknown): typeof MISSING {
  if (isBlobMissing(e)) return MISSING;
  throw e;
}

/** README.txt: what the archive is and the list of its files. */
function readme(customerId: number, index: string[]): Buffer {
  return Buffer.from(
    [
      `Everything MailDesk stores about customer ${customerId}, exported ${new Date().toISOString()}.`,
      '',
      'customer.json                         the customer: address, name, language, blocked, dates',
      'requests/<id>/request.json            each of their requests: fields, tags, participants, history (events)',
      'requests/<id>/messages/<n>.json       each message: headers (from, to, cc, bcc, subject, ids, dates), text, html',
      'requests/<id>/messages/<n>-attachments/  the files attached to message n, as they were received or sent',
      'other-requests/<id>/messages/<n>.json messages they sent into requests of others (copied on a thread)',
      'raw-mail/index.json                   every mail received from them or for their requests, and its fate',
      'raw-mail/<id>.eml                     each such mail as it was received (RFC 5322), where it is kept',
      'sent-mail/<id>.json                   each mail sent to them (answers, automatic replies) and its delivery',
      '',
      'Files:',
      ...index.map((line) => `  ${line}`),
      '',
    ].join('\n'),
    'utf8',
  );
}
