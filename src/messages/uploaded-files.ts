import * as crypto from 'node:crypto';
import type { NewAttachment } from './messages.service';

/** What the multipart interceptor (memory storage, multer's shape) gives for one uploaded file. */
export interface UploadedFile {
  fieldname: string;
  originalname: string;
  mimetype: string;
  size: number;
  buffer: Buffer;
}

/** Files of a multipart `POST /requests/:id/messages` as attachments of the message (names without paths). */
export function toNewAttachments(files: UploadedFile[] | undefined): NewAttachment[] {
  return (files ?? []).map((f) => ({
    filename:
      (f.originalname.split(/[\\/]/).pop() ?? '')
        .replace(/[\r\n\0]+/g, ' ')
        .trim()
        .slice(0, 255) || 'attachment',
    contentType: /^[\w.+-]+\/[\w.+-]+$/.test(f.mimetype) ? f.mimetype.toLowerCase() : 'application/octet-stream',
    size: f.buffer.length,
    sha256: crypto.createHash('sha256').update(f.buffer).digest('hex'),
    contentId: null,
    content: f.buffer,
  }));
}
