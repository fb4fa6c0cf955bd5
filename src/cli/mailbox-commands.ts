import { HttpException } from '@nestjs/common';
import { KeyRotationService } from '../mailboxes/key-rotation.service';
import type { MailboxRecord } from '../mailboxes/mailbox';
import { toMailboxResponse } from '../mailboxes/mailboxes.dto';
import { MailboxesService, type MailboxInput, type Oauth2Input } from '../mailboxes/mailboxes.service';
import { formatKey, generateKey, KeyRing, keyIdOf, parseKey } from '../mailboxes/secret-box';
import { readKeyFile, SecretBoxService, writeKeyFile } from '../mailboxes/secret-box.service';
import { CliError, optional, type ParsedArgs, required, UsageError } from './args';
import { Command, say } from './command';

/** The options of `mailbox:add` and `mailbox:update`, mirroring the fields of `POST /mailboxes`. */
const MAILBOX_OPTIONS = [
  'name',
  'address',
  'aliases',
  'group',
  'signature',
  'imap-url',
  'smtp-url',
  'oauth2-provider',
  'oauth2-client-id',
  'oauth2-client-secret',
  'oauth2-tenant',
  'oauth2-authorize-url',
  'oauth2-token-url',
  'oauth2-scopes',
];

const MAILBOX_USAGE =
  '[--name NAME] [--address ADDRESS] [--aliases A,B] [--group ID|none] [--signature TEXT] ' +
  '[--imap-url URL|none] [--smtp-url URL|none] [--oauth2-provider google|microsoft|generic|none ' +
  '--oauth2-client-id ID --oauth2-client-secret SECRET [--oauth2-tenant T] [--oauth2-authorize-url URL] ' +
  '[--oauth2-token-url URL] [--oauth2-scopes A,B]]';

/** A comma list option; [] for an empty value. */
function listOption(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The mailbox id of `mailbox:update ID` / `mailbox:remove ID`. */
function idArgument(args: ParsedArgs): number {
  const raw = args.positional[0];
  if (!/^\d{1,10}$/.test(raw) || Number(raw) < 1 || Number(raw) > 2_147_483_647) {
    throw new UsageError(`the mailbox id must be a positive integer (got "${raw.slice(0, 40)}")`);
  }
  return Number(raw);
}

/** The API's fields from the options; `none` clears a nullable one. Validation is the API's (MailboxesService). */
function mailboxInput(args: ParsedArgs): MailboxInput {
  const input: MailboxInput = {};
  const name = optional(args, 'name');
  if (name !== undefined) input.name = name;
  const address = optional(args, 'address');
  if (address !== undefined) input.address = address;
  const aliases = optional(args, 'aliases');
  if (aliases !== undefined) input.aliases = listOption(aliases);
  const group = optional(args, 'group');
  if (group !== undefined) {
    if (group === 'none') input.groupId = null;
    else if (/^\d{1,10}$/.test(group)) input.groupId = Number(group);
    else throw new UsageError('--group must be a group id or none');
  }
  const signature = optional(args, 'signature');
  if (signature !== undefined) input.signature = signature.replace(/\\n/g, '\n') || null;
  const imapUrl = optional(args, 'imap-url');
  if (imapUrl !== undefined) input.imapUrl = imapUrl === 'none' ? null : imapUrl;
  const smtpUrl = optional(args, 'smtp-url');
  if (smtpUrl !== undefined) input.smtpUrl = smtpUrl === 'none' ? null : smtpUrl;
  const provider = optional(args, 'oauth2-provider');
  const oauth2Given = MAILBOX_OPTIONS.some((o) => o.startsWith('oauth2-') && o in args.options);
  if (provider === 'none') {
    input.oauth2 = null;
  } else if (oauth2Given) {
    if (provider === undefined) throw new UsageError('--oauth2-provider is required with the other --oauth2-* options');
    const oauth2: Oauth2Input = {
      provider: provider as Oauth2Input['provider'],
      clientId: required(args, 'oauth2-client-id'),
    };
    const secret = optional(args, 'oauth2-client-secret');
    if (secret !== undefined) oauth2.clientSecret = secret;
    const tenant = optional(args, 'oauth2-tenant');
    if (tenant !== undefined) oauth2.tenant = tenant;
    const authorizeUrl = optional(args, 'oauth2-authorize-url');
    if (authorizeUrl !== undefined) oauth2.authorizeUrl = authorizeUrl;
    const tokenUrl = optional(args, 'oauth2-token-url');
    if (tokenUrl !== undefined) oauth2.tokenUrl = tokenUrl;
    const scopes = optional(args, 'oauth2-scopes');
    if (scopes !== undefined) oauth2.scopes = listOption(scopes);
    input.oauth2 = oauth2;
  }
  return input;
}

/** The API's 4xx as the CLI's failure (exit 1), its message as the API gives it. */
async function asCli<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    if (e instanceof HttpException) {
      const body = e.getResponse() as { message?: string | string[] } | string;
      const message = typeof body === 'string' ? body : [body.message ?? e.message].flat().join('; ');
      throw new CliError(message);
    }
    throw e;
  }
}

/** One line per mailbox: id, state, address (aliases), name, servers and how they log in. Never a secret. */
function describe(m: MailboxRecord): string {
  const r = toMailboxResponse(m);
  const server = (label: string, s: { url: string; auth: string } | null) => (s ? `${label} ${s.url} (${s.auth})` : '');
  return [
    `${r.id}`,
    r.state,
    r.isDefault ? `${r.address} [default]` : r.address,
    r.aliases.length ? `aliases ${r.aliases.join(',')}` : '',
    `"${r.name}"`,
    r.groupId === null ? '' : `group ${r.groupId}`,
    server('imap', r.imap),
    server('smtp', r.smtp),
    r.oauth2 ? `oauth2 ${r.oauth2.provider} ${r.oauth2.authorized ? 'authorized' : 'not authorized'}` : '',
    r.lastError ? `last error: ${r.lastError}` : '',
  ]
    .filter(Boolean)
    .join('  ');
}

/** `mailbox:list`: every mailbox, one a line (`--json`: the API's answer). */
export const mailboxList: Command = {
  name: 'mailbox:list',
  readOnly: true,
  usage: '[--json]',
  summary: 'list the mailboxes (the default one included); no secret is shown',
  spec: { flags: ['json'] },
  prepare(args) {
    const json = args.options.json === true;
    return async (ctx) => {
      const mailboxes = await ctx.app.get(MailboxesService).list();
      if (json) say(JSON.stringify({ items: mailboxes.map(toMailboxResponse) }, null, 2));
      else for (const m of mailboxes) say(describe(m));
      return 0;
    };
  },
};

/** `mailbox:add`: a new mailbox, as `POST /mailboxes`. */
export const mailboxAdd: Command = {
  name: 'mailbox:add',
  usage: `--name NAME --address ADDRESS ${MAILBOX_USAGE.replace('[--name NAME] [--address ADDRESS] ', '')}`,
  summary: 'add a mailbox (passwords in the URLs and the OAuth2 client secret are stored encrypted)',
  spec: { values: MAILBOX_OPTIONS },
  prepare(args) {
    required(args, 'name');
    required(args, 'address');
    const input = mailboxInput(args);
    return async (ctx) => {
      const mailbox = await asCli(() => ctx.app.get(MailboxesService).create(input));
      say(`created mailbox ${describe(mailbox)}`);
      return 0;
    };
  },
};

/** `mailbox:update ID`: changes a mailbox, as `PATCH /mailboxes/:id`; `--activate` re-enables it. */
export const mailboxUpdate: Command = {
  name: 'mailbox:update',
  usage: `ID ${MAILBOX_USAGE} [--activate]`,
  summary: 'change a mailbox (only the options given); --activate re-enables a deactivated one',
  spec: { values: MAILBOX_OPTIONS, flags: ['activate'], positional: [1, 1] },
  prepare(args) {
    const id = idArgument(args);
    const input = mailboxInput(args);
    if (args.options.activate === true) input.state = 'active';
    if (!Object.keys(input).length) throw new UsageError('nothing to change');
    return async (ctx) => {
      const mailbox = await asCli(() => ctx.app.get(MailboxesService).update(id, input));
      say(`updated mailbox ${describe(mailbox)}`);
      return 0;
    };
  },
};

/** `mailbox:remove ID`: deactivates, as `DELETE /mailboxes/:id` (its requests and addresses stay). */
export const mailboxRemove: Command = {
  name: 'mailbox:remove',
  usage: 'ID',
  summary: 'deactivate a mailbox: polling and its sending stop; its requests and addresses stay',
  spec: { positional: [1, 1] },
  prepare(args) {
    const id = idArgument(args);
    return async (ctx) => {
      const mailbox = await asCli(() => ctx.app.get(MailboxesService).deactivate(id));
      say(`deactivated mailbox ${describe(mailbox)}`);
      return 0;
    };
  },
};

/**
 * `rotate-encryption-key [--key KEY]`: a new key seals every stored secret again, in one
 * transaction. Designed so that no instance is ever left with a secret it cannot open:
 *
 * - DATA_DIR/encryption.key (ENCRYPTION_KEY unset): the key file is written FIRST, the new key
 *   before the old ones (atomically), then the secrets are re-sealed. Running instances on the same
 *   DATA_DIR read the file again when it changes (SecretBoxService), so they open the re-sealed
 *   values and seal with the new key; the old keys stay in the file.
 * - ENCRYPTION_KEY: the CLI cannot change the instances' environment. Without `--key` it only
 *   generates a key and prints the value to set (`ENCRYPTION_KEY=new,old`); once every instance runs
 *   with it, `--key new` re-seals (refused while the key is not in this process's ENCRYPTION_KEY).
 */
export const rotateEncryptionKey: Command = {
  name: 'rotate-encryption-key',
  usage: '[--key KEY]',
  summary: 're-encrypt the stored mailbox secrets with a new key (generated, or --key: 64 hex characters)',
  spec: { values: ['key'] },
  prepare(args) {
    const given = optional(args, 'key');
    let key: Buffer | undefined;
    if (given !== undefined) {
      try {
        key = parseKey(given);
      } catch (e) {
        throw new UsageError(`--key: ${(e as Error).message}`, { cause: e });
      }
    }
    return async (ctx) => {
      const box = ctx.app.get(SecretBoxService);
      const rotation = ctx.app.get(KeyRotationService);
      if (box.source.kind === 'file') {
        const file = box.source.file;
        const current = readKeyFile(file) ?? [];
        const next = key ?? generateKey();
        const ring = [next, ...current.filter((k) => !k.equals(next))];
        if (!current[0]?.equals(next)) writeKeyFile(file, ring, true);
        const result = await rotation.reseal(new KeyRing(ring));
        say(`key ${keyIdOf(next)} now encrypts; ${result.resealed} stored secret(s) re-encrypted with it`);
        say(`${file}: ${ring.map(keyIdOf).join(', ')} (the first encrypts; the older keys stay so nothing is lost)`);
        say(
          'Instances on this DATA_DIR read the new key at their next use of a secret; an instance with its own copy of the file must get this one and be restarted.',
        );
        return 0;
      }
      const ring = box.keyRing();
      const current = ring.keys.map(formatKey);
      if (!key) {
        const fresh = generateKey();
        say(`new key ${keyIdOf(fresh)}: ${formatKey(fresh)}`);
        say('Nothing was re-encrypted yet. Next:');
        say(`  1. set on every instance (the new key first, the current keys after) and restart them:`);
        say(`     ENCRYPTION_KEY=${[formatKey(fresh), ...current].join(',')}`);
        say(`  2. with that ENCRYPTION_KEY, run: maildesk rotate-encryption-key --key ${formatKey(fresh)}`);
        return 0;
      }
      if (!ring.has(keyIdOf(key))) {
        throw new CliError(
          `key ${keyIdOf(key)} is not in ENCRYPTION_KEY: set ENCRYPTION_KEY=${[formatKey(key), ...current].join(',')} ` +
            'on every instance and for this command, restart the instances, then run this again',
        );
      }
      const sealing = new KeyRing([key, ...ring.keys.filter((k) => !k.equals(key))]);
      const result = await rotation.reseal(sealing);
      say(`${result.resealed} stored secret(s) re-encrypted with key ${keyIdOf(key)}`);
      if (ring.sealingKeyId !== keyIdOf(key)) {
        say(
          `note: ENCRYPTION_KEY starts with key ${ring.sealingKeyId}; put ${keyIdOf(key)} first so new secrets use it`,
        );
      }
      say(
        `Once every instance runs with ENCRYPTION_KEY starting with this key, the older keys can be dropped: ENCRYPTION_KEY=${formatKey(key)}`,
      );
      return 0;
    };
  },
};
