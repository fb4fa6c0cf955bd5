import { Busboy } from '@fastify/busboy';
import { BadRequestException, PayloadTooLargeException, UnsupportedMediaTypeException } from '@nestjs/common';
import { parseFormBody, parseJsonBody } from '../../common/body-parsers';

/** One file of a provider's multipart form. */
export interface ProviderFile {
  /** The form field it came in (`attachment-1`, `attachment1`). */
  field: string;
  filename: string;
  contentType: string;
  content: Buffer;
}

/** A provider's form: its text fields (the first value of a repeated one) and its files. */
export interface ProviderForm {
  fields: Record<string, string>;
  files: ProviderFile[];
}

/** How much of a form is taken; past any limit, 413. */
export interface FormLimits {
  /** Text fields. */
  maxFields: number;
  /** Files. */
  maxFiles: number;
  /** Bytes of one text field (a raw mail in `body-mime` or `email` is one). */
  maxFieldBytes: number;
  /** Bytes of one file. */
  maxFileBytes: number;
  /**
   * How text fields without a charset of their own are decoded: `utf8` (Mailgun sends UTF-8), or
   * `latin1` to keep their bytes (SendGrid names each field's charset in `charsets`).
   */
  charset: 'utf8' | 'latin1';
}

const tooLarge = (what: string) => new PayloadTooLargeException(`form ${what} over the limit`);

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * A provider's form body (already read, bounded) as fields and files: `multipart/form-data`
 * (bounded field count, file count and sizes), or `application/x-www-form-urlencoded`. 413 past a
 * limit, 400 for a broken body, 415 for another type.
 */
export function parseProviderForm(
  body: Buffer,
  contentType: string | undefined,
  limits: FormLimits,
): Promise<ProviderForm> {
  const type = mediaType(contentType);
  if (type === 'application/x-www-form-urlencoded') {
    const parsed = parseFormBody(body, limits.charset === 'latin1' ? 'iso-8859-1' : 'utf-8');
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed)) fields[k] = Array.isArray(v) ? (v[0] ?? '') : v;
    if (Object.keys(fields).length > limits.maxFields) return Promise.reject(tooLarge('fields'));
    return Promise.resolve({ fields, files: [] });
  }
  if (type !== 'multipart/form-data') {
    return Promise.reject(
      new UnsupportedMediaTypeException('send multipart/form-data or application/x-www-form-urlencoded'),
    );
  }
  return parseMultipart(body, contentType!, limits);
}

function parseMultipart(body: Buffer, contentType: string, limits: FormLimits): Promise<ProviderForm> {
  return new Promise<ProviderForm>((resolve, reject) => {
    let busboy: InstanceType<typeof Busboy>;
    try {
      busboy = new Busboy({
        headers: { 'content-type': contentType },
        defCharset: limits.charset,
        limits: {
          fields: limits.maxFields,
          files: limits.maxFiles,
          fieldSize: limits.maxFieldBytes,
          fileSize: limits.maxFileBytes,
          parts: limits.maxFields + limits.maxFiles,
          headerPairs: 100,
        },
      });
    } catch (e) {
      return reject(new BadRequestException(`multipart body: ${(e as Error).message}`));
    }
    const fields: Record<string, string> = {};
    const files: ProviderFile[] = [];
    let failed = false;
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      reject(error);
    };
    busboy.on('field', (name: string, value: string, _nameTruncated: boolean, valueTruncated: boolean) => {
      if (valueTruncated) return fail(tooLarge(`field "${name.slice(0, 64)}"`));
      if (!(name in fields)) fields[name] = value;
    });
    busboy.on('file', (field, stream, filename, _encoding, mimeType) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => fail(tooLarge(`file "${field.slice(0, 64)}"`)));
      stream.on('end', () => {
        if (stream.truncated) return fail(tooLarge(`file "${field.slice(0, 64)}"`));
        files.push({ field, filename: filename ?? '', contentType: mimeType, content: Buffer.concat(chunks) });
      });
    });
    busboy.on('fieldsLimit', () => fail(tooLarge('fields')));
    busboy.on('filesLimit', () => fail(tooLarge('files')));
    busboy.on('partsLimit', () => fail(tooLarge('parts')));
    busboy.on('error', (e: Error) => fail(new BadRequestException(`multipart body: ${e.message}`)));
    busboy.on('finish', () => {
      if (!failed) resolve({ fields, files });
    });
    busboy.end(body);
  });
}

/** A provider's JSON body (already read, bounded) as an object; 400 otherwise. */
export function parseProviderJson(body: Buffer, contentType: string | undefined): Record<string, unknown> {
  if (mediaType(contentType) !== 'application/json') {
    throw new UnsupportedMediaTypeException('send application/json');
  }
  const value = parseJsonBody(body);
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new BadRequestException('body must be a JSON object');
  }
  return value as Record<string, unknown>;
}
