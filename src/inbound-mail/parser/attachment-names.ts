import { decodeHeaderText } from './encoded-words';
import { firstField, parseHeaderFields } from './header-fields';

/** File extensions for the content types a nameless attachment commonly has. */
const EXTENSIONS: Record<string, string> = {
  'application/pdf': 'pdf',
  'application/zip': 'zip',
  'application/x-zip-compressed': 'zip',
  'application/gzip': 'gz',
  'application/msword': 'doc',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-excel': 'xls',
  'application/x-excel': 'xls',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'application/vnd.ms-powerpoint': 'ppt',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation': 'pptx',
  'application/vnd.oasis.opendocument.text': 'odt',
  'application/vnd.oasis.opendocument.spreadsheet': 'ods',
  'application/rtf': 'rtf',
  'application/json': 'json',
  'application/xml': 'xml',
  'application/ms-tnef': 'dat',
  'application/vnd.ms-outlook': 'msg',
  'application/pgp-signature': 'asc',
  'application/pgp-encrypted': 'asc',
  'application/pkcs7-signature': 'p7s',
  'application/x-pkcs7-signature': 'p7s',
  'application/pkcs7-mime': 'p7m',
  'application/postscript': 'ps',
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/jpg': 'jpg',
  'image/pjpeg': 'jpg',
  'image/gif': 'gif',
  'image/bmp': 'bmp',
  'image/webp': 'webp',
  'image/tiff': 'tif',
  'image/svg+xml': 'svg',
  'image/heic': 'heic',
  'audio/basic': 'au',
  'audio/mpeg': 'mp3',
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/ogg': 'ogg',
  'video/mp4': 'mp4',
  'video/mpeg': 'mpeg',
  'video/quicktime': 'mov',
  'text/plain': 'txt',
  'text/enriched': 'txt',
  'text/richtext': 'txt',
  'text/html': 'html',
  'text/csv': 'csv',
  'text/calendar': 'ics',
  'text/vcard': 'vcf',
  'text/x-vcard': 'vcf',
  'text/xml': 'xml',
  'text/rtf': 'rtf',
  'text/rfc822-headers': 'txt',
  'message/delivery-status': 'txt',
  'message/disposition-notification': 'txt',
  'message/rfc822': 'eml',
  'message/global': 'eml',
};

/** The longest file name kept (common file system limit). */
const MAX_NAME_LENGTH = 200;

/** A file name made safe to show and store: no control characters, trimmed, bounded length. */
export function cleanFileName(name: string): string {
  const cleaned = name
    .normalize('NFC')
    .replace(/\p{Cc}/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (cleaned.length <= MAX_NAME_LENGTH) return cleaned;
  const dot = cleaned.lastIndexOf('.');
  const ext = dot > 0 && cleaned.length - dot <= 10 ? cleaned.slice(dot) : '';
  return cleaned.slice(0, MAX_NAME_LENGTH - ext.length) + ext;
}

/** The subject of an attached mail (its raw bytes), decoded, or null. */
export function innerSubject(content: Buffer): string | null {
  const head = content.subarray(0, 64 * 1024).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const subject = firstField(parseHeaderFields(end < 0 ? head : head.slice(0, end)), 'subject');
  return subject ? decodeHeaderText(subject) : null;
}

/**
 * Names attachments in order, keeping a name the mail gives and making one up otherwise: the
 * subject of an attached mail + `.eml`, else a stem from the content type (`image.png`,
 * `attachment.pdf`, `attachment.bin`), numbered `-2`, `-3` when already taken.
 */
export class AttachmentNamer {
  private readonly used = new Set<string>();

  /** Reserves names the mail gives, so made-up names never collide with them. */
  reserve(names: Array<string | null>): void {
    for (const name of names) if (name) this.used.add(name.toLowerCase());
  }

  /** A made-up name for a nameless attachment. */
  nameFor(contentType: string, content: Buffer): string {
    const type = contentType.toLowerCase();
    const ext = EXTENSIONS[type] ?? 'bin';
    let stem = /^(image|audio|video)\//.exec(type)?.[1] ?? 'attachment';
    if (type === 'message/rfc822' || type === 'message/global') {
      const subject = innerSubject(content);
      stem = cleanFileName((subject ?? '').replace(/[\\/:*?"<>|]+/g, ' ')).slice(0, MAX_NAME_LENGTH - 4) || 'message';
    }
    let name = `${stem}.${ext}`;
    for (let n = 2; this.used.has(name.toLowerCase()); n++) name = `${stem}-${n}.${ext}`;
    this.used.add(name.toLowerCase());
    return name;
  }
}
