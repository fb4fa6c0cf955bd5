import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';

/** Every `.eml` under `dir`, recursively (none when it does not exist). */
function emlFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? emlFiles(p) : e.name.endsWith('.eml') ? [p] : [];
  });
}

/** Real emails to mutate: the shared Stalwart corpus and this repository's fixtures. */
export function seedMails(): Array<{ name: string; raw: Buffer }> {
  const files = [...emlFiles(path.resolve('test/corpus/stalwart')), ...emlFiles(path.resolve('test/fixtures'))];
  return files.map((f) => ({ name: path.relative(path.resolve('..'), f), raw: fs.readFileSync(f) }));
}

/** Gives the mail a fresh Message-ID (so it is processed, not answered `duplicate`). */
export function withMessageId(raw: Buffer, id: string): Buffer {
  const text = raw.toString('latin1');
  const replaced = text.replace(/^Message-ID:[^\r\n]*(\r?\n[ \t][^\r\n]*)*/im, `Message-ID: <${id}>`);
  return Buffer.from(replaced === text ? `Message-ID: <${id}>\r\n${text}` : replaced, 'latin1');
}

/** One way of damaging an email, applied at a relative position `at` (0..1) with a `seed` byte. */
export type Mutation = { kind: (typeof KINDS)[number]; at: number; seed: number };

const KINDS = [
  'truncate',
  'break-boundary',
  'bad-base64',
  '8bit-header',
  'flip-bytes',
  'bare-lf',
  'bare-cr',
  'nul-bytes',
  'duplicate-headers',
  'drop-header-body-separator',
  'garbage-content-type',
  'huge-parameter',
] as const;

const latin1 = (b: Buffer) => b.toString('latin1');
const bytes = (s: string) => Buffer.from(s, 'latin1');

/** Applies one mutation; pure (same input, same output). */
export function mutate(raw: Buffer, m: Mutation): Buffer {
  const pos = Math.floor(m.at * raw.length);
  const text = latin1(raw);
  switch (m.kind) {
    case 'truncate':
      // At least one byte: an empty body is a 400 by design, not a mail.
      return raw.subarray(0, Math.max(1, pos));
    case 'break-boundary':
      // Changes the declared boundary (parts never close) or cuts one delimiter line in half.
      return m.seed % 2
        ? bytes(text.replace(/boundary="?([^";\r\n]+)"?/i, 'boundary="$1-x"'))
        : bytes(text.replace(/\r?\n--([^\r\n]{4,})/, (_, b: string) => `\n--${b.slice(0, Math.ceil(b.length / 2))}`));
    case 'bad-base64': {
      const declared = /Content-Transfer-Encoding:\s*base64/i.test(text)
        ? text
        : text.replace(/^(Content-Type:[^\r\n]*)/im, '$1\r\nContent-Transfer-Encoding: base64');
      const at = Math.floor(m.at * declared.length);
      return bytes(declared.slice(0, at) + '!!==*%\u00ff==\r\nA===B' + declared.slice(at));
    }
    case '8bit-header': {
      const high = String.fromCharCode(...Array.from({ length: 40 }, (_, i) => 0x80 + ((m.seed + i * 7) % 128)));
      return bytes(text.replace(/^(Subject|From|To):([^\r\n]*)/gim, `$1:$2 ${high}`));
    }
    case 'flip-bytes': {
      const out = Buffer.from(raw);
      for (let i = 0; i < 16 && out.length; i++) out[(pos + i * 997) % out.length] ^= (m.seed + i) & 0xff || 1;
      return out;
    }
    case 'bare-lf':
      return bytes(text.replace(/\r\n/g, '\n'));
    case 'bare-cr':
      return bytes(text.replace(/\r?\n/g, '\r'));
    case 'nul-bytes':
      return Buffer.concat([raw.subarray(0, pos), Buffer.alloc(64), raw.subarray(pos)]);
    case 'duplicate-headers': {
      const end = text.search(/\r?\n\r?\n/);
      const head = end < 0 ? text : text.slice(0, end);
      return bytes(head + '\r\n' + head + text.slice(head.length));
    }
    case 'drop-header-body-separator':
      return bytes(text.replace(/\r?\n\r?\n/, '\r\n'));
    case 'garbage-content-type':
      return bytes(
        text.replace(
          /^Content-Type:[^\r\n]*/gim,
          `Content-Type: multipart/${'x'.repeat(m.seed % 50)}; boundary=; charset="\u00ff\u00fe"`,
        ),
      );
    case 'huge-parameter':
      return bytes(
        text.replace(/^Content-Type:([^\r\n]*)/im, `Content-Type:$1; name*0*=utf-8''${'%E2%82%AC'.repeat(20000)}`),
      );
  }
}

/** A fast-check arbitrary of one to three mutations. */
export const mutations = fc.array(
  fc.record({ kind: fc.constantFrom(...KINDS), at: fc.double({ min: 0, max: 1, noNaN: true }), seed: fc.nat(255) }),
  { minLength: 1, maxLength: 3 },
);

const HEAD = (id: string, extra = '') =>
  `From: Hostile <hostile@customer.test>\r\nTo: support@desk.test\r\nSubject: hostile ${id}\r\nMessage-ID: <${id}>\r\nMIME-Version: 1.0\r\n${extra}`;

/** The hand-made hostile mails of the issue, each with a unique Message-ID. */
export function extremeMails(): Array<{ name: string; raw: Buffer }> {
  const recipients = Array.from({ length: 10000 }, (_, i) => `r${i}@recipients.test`).join(',\r\n ');
  const nest = 500;
  let deep = 'Content-Type: text/plain\r\n\r\ninnermost\r\n';
  for (let i = nest - 1; i >= 0; i--)
    deep = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${deep}\r\n--b${i}--\r\n`;
  const zeros = Buffer.alloc(20 * 1024 * 1024)
    .toString('base64')
    .replace(/.{76}/g, '$&\r\n');
  const manyParts =
    Array.from({ length: 5000 }, (_, i) => `--m\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('') +
    '--m--\r\n';
  return [
    {
      name: '10,000 recipients',
      raw: Buffer.from(
        HEAD('x-recipients@fuzz.test').replace('To: support@desk.test', `To: support@desk.test,\r\n ${recipients}`) +
          'Content-Type: text/plain\r\n\r\nhi\r\n',
      ),
    },
    {
      name: '1 MB header line',
      raw: Buffer.from(
        HEAD('x-long-header@fuzz.test', `X-Long: ${'a'.repeat(1024 * 1024)}\r\n`) +
          'Content-Type: text/plain\r\n\r\nhi\r\n',
      ),
    },
    {
      name: '1 MB subject without spaces',
      raw: Buffer.from(
        HEAD('x-long-subject@fuzz.test').replace('Subject: hostile', `Subject: ${'s'.repeat(1024 * 1024)}`) +
          'Content-Type: text/plain\r\n\r\nhi\r\n',
      ),
    },
    { name: `${nest} levels of multipart nesting`, raw: Buffer.from(HEAD('x-deep@fuzz.test') + deep) },
    {
      name: '5,000 parts',
      raw: Buffer.from(
        HEAD('x-many-parts@fuzz.test', 'Content-Type: multipart/mixed; boundary="m"\r\n') + '\r\n' + manyParts,
      ),
    },
    {
      name: '20 MB of zeros, base64 attachment',
      raw: Buffer.from(
        HEAD('x-zeros@fuzz.test', 'Content-Type: multipart/mixed; boundary="z"\r\n') +
          '\r\n--z\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--z\r\nContent-Type: application/octet-stream; name="zeros.bin"\r\n' +
          'Content-Disposition: attachment; filename="zeros.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
          zeros +
          '\r\n--z--\r\n',
      ),
    },
    { name: 'headers only, no body', raw: Buffer.from(HEAD('x-headers-only@fuzz.test')) },
    {
      // Found by the fuzzer: PostgreSQL text cannot hold NUL, so the quarantine row itself failed (a 400).
      name: 'NUL byte in the Message-ID, no From',
      raw: Buffer.from(
        'Qrom: x@customer.test\r\nTo: support@desk.test\r\nSubject: nul\r\nMessage-ID: <nul-\u0000-id@fuzz.test>\r\n\r\nhi\r\n',
        'latin1',
      ),
    },
    { name: 'binary garbage', raw: Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 131 + 7) & 0xff)) },
    {
      name: 'unterminated encoded words',
      raw: Buffer.from(
        HEAD('x-encoded@fuzz.test').replace('Subject: hostile', `Subject: ${'=?utf-8?B?'.repeat(5000)}`) +
          'Content-Type: text/plain\r\n\r\nhi\r\n',
      ),
    },
  ];
}
