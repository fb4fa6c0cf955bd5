import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { isHostAddress, isRoutableAddress } from '../common/addresses';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { passwordOf, userOf, withoutPassword } from './mail-url';
import { OAUTH2_PROVIDERS, type MailboxRecord, type Oauth2Provider, type Oauth2Settings } from './mailbox';
import { MailboxDirectoryService } from './mailbox-directory.service';
import {
  MailboxesRepository,
  type MailboxesStore,
  type MailboxSettings,
  type MailboxWriteResult,
} from './mailboxes.repository';
import { SecretBoxService } from './secret-box.service';

/** Bounds of what an admin may write (the DTOs say the same to Swagger). */
export const MAILBOX_LIMITS = {
  name: 200,
  address: 254,
  aliases: 50,
  signature: 10_000,
  url: 2_000,
  clientId: 500,
  clientSecret: 4_000,
  tenant: 100,
  scopes: 20,
  scope: 200,
} as const;

/** An OAuth2 client as an admin writes it (the secret in clear, sealed before it is stored). */
export interface Oauth2Input {
  provider: Oauth2Provider;
  clientId: string;
  /** Required when the mailbox has no client secret yet; omitted: the stored one is kept. */
  clientSecret?: string;
  tenant?: string;
  authorizeUrl?: string;
  tokenUrl?: string;
  scopes?: string[];
}

/** A mailbox as an admin writes it (`POST` needs name and address; `PATCH` any field). */
export interface MailboxInput {
  name?: string;
  address?: string;
  aliases?: string[];
  groupId?: number | null;
  signature?: string | null;
  imapUrl?: string | null;
  smtpUrl?: string | null;
  oauth2?: Oauth2Input | null;
  /** Only `active`: re-enables a disabled mailbox. */
  state?: 'active';
}

/** What the default mailbox takes from the environment, and the variable that sets it. */
const ENVIRONMENT_FIELDS = {
  address: 'SUPPORT_ADDRESS',
  name: 'SUPPORT_NAME',
  imapUrl: 'IMAP_URL',
  smtpUrl: 'SMTP_URL',
  oauth2: 'IMAP_URL and SMTP_URL (the default mailbox logs in with their passwords)',
} as const;

const MICROSOFT_DEFAULT_TENANT = 'common';

/**
 * The mailboxes admins manage: validation of what they write, passwords taken out of the URLs and
 * sealed with the OAuth2 client secret (SecretBoxService), the default mailbox's fields that belong
 * to the environment, deactivation. Reads come from the database (fresh poller state), writes tell
 * the directory at once so this instance's next read sees them.
 */
@Injectable()
export class MailboxesService {
  constructor(
    @Inject(MailboxesRepository) private readonly store: MailboxesStore,
    private readonly directory: MailboxDirectoryService,
    private readonly box: SecretBoxService,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'imap' | 'smtp'>,
  ) {}

  /** Every mailbox, the default one first created if need be. */
  async list(): Promise<MailboxRecord[]> {
    await this.directory.defaultMailbox();
    return (await this.store.list()).map((m) => this.present(m));
  }

  async get(id: number): Promise<MailboxRecord> {
    const mailbox = await this.store.get(id);
    if (!mailbox) throw new NotFoundException(`mailbox ${id} not found`);
    return this.present(mailbox);
  }

  async create(input: MailboxInput): Promise<MailboxRecord> {
    if (input.name === undefined || input.address === undefined) {
      throw new BadRequestException('name and address are required');
    }
    if (input.state !== undefined) throw new BadRequestException('a new mailbox is active; state cannot be given');
    const settings = this.settingsOf(input, null);
    return this.written(await this.store.insert(settings));
  }

  async update(id: number, input: MailboxInput): Promise<MailboxRecord> {
    const current = await this.store.get(id);
    if (!current) throw new NotFoundException(`mailbox ${id} not found`);
    if (current.isDefault) this.checkEnvironmentFields(current, input);
    const changesSettings = Object.entries(input).some(([k, v]) => k !== 'state' && v !== undefined);
    let result: MailboxRecord = current;
    if (changesSettings) {
      const settings = current.isDefault ? this.defaultSettings(current, input) : this.settingsOf(input, current);
      result = await this.written(await this.store.update(id, settings, oauth2ClientChanged(current, settings)));
    }
    if (input.state === 'active' && current.state === 'disabled') {
      result = (await this.store.setState(id, 'active', ['disabled'])) ?? result;
      await this.directory.changed();
    }
    return this.present(result);
  }

  /** Deactivates: state `disabled`, polling and sending stop, its requests and addresses stay. */
  async deactivate(id: number): Promise<MailboxRecord> {
    const current = await this.store.get(id);
    if (!current) throw new NotFoundException(`mailbox ${id} not found`);
    if (current.isDefault) {
      throw new ConflictException(
        'the default mailbox cannot be deactivated: it is defined by SUPPORT_ADDRESS, IMAP_URL and SMTP_URL',
      );
    }
    const moved = await this.store.setState(id, 'disabled');
    await this.directory.changed();
    return this.present(moved ?? current);
  }

  /** The answer to a write: the mailbox, or the 409 / 400 / 404 its failure means. */
  private async written(result: MailboxWriteResult): Promise<MailboxRecord> {
    if (!result.ok) {
      if (result.reason === 'address_taken') {
        throw new ConflictException(
          `already a mailbox's address or alias: ${result.addresses.join(', ') || 'one of the addresses'}`,
        );
      }
      if (result.reason === 'group_not_found') throw new BadRequestException('groupId: no such group');
      throw new NotFoundException('mailbox not found');
    }
    await this.directory.changed();
    return result.mailbox;
  }

  /** The default mailbox as the environment makes it: its servers are IMAP_URL and SMTP_URL. */
  private present(mailbox: MailboxRecord): MailboxRecord {
    if (!mailbox.isDefault) return mailbox;
    return {
      ...mailbox,
      imapUrl: this.config.imap.url ? withoutPassword(this.config.imap.url) : null,
      smtpUrl: this.config.smtp.url ? withoutPassword(this.config.smtp.url) : null,
      oauth2: null,
    };
  }

  /** 409 for a change of a field the environment defines (the same value is accepted: a PATCH of what GET gave). */
  private checkEnvironmentFields(current: MailboxRecord, input: MailboxInput): void {
    const shown = this.present(current);
    const same: Record<keyof typeof ENVIRONMENT_FIELDS, boolean> = {
      address: input.address === undefined || input.address.trim().toLowerCase() === shown.address,
      name: input.name === undefined || input.name.trim() === shown.name,
      imapUrl: input.imapUrl === undefined || input.imapUrl === shown.imapUrl,
      smtpUrl: input.smtpUrl === undefined || input.smtpUrl === shown.smtpUrl,
      oauth2: input.oauth2 === undefined || input.oauth2 === null,
    };
    for (const [field, unchanged] of Object.entries(same)) {
      if (!unchanged) {
        throw new ConflictException(
          `${field} of the default mailbox is set by ${ENVIRONMENT_FIELDS[field as keyof typeof ENVIRONMENT_FIELDS]}, not through the API`,
        );
      }
    }
  }

  /** The default mailbox's new settings: only aliases, group and signature can change. */
  private defaultSettings(current: MailboxRecord, input: MailboxInput): MailboxSettings {
    const address = current.address;
    return {
      ...settingsFromRecord(current),
      aliases: input.aliases === undefined ? current.aliases : checkAliases(input.aliases, address),
      groupId: input.groupId === undefined ? current.groupId : checkGroupId(input.groupId),
      signature: input.signature === undefined ? current.signature : checkSignature(input.signature),
    };
  }

  /** Checks `input` over `current` (null: a new mailbox) into the settings to store, secrets sealed. */
  private settingsOf(input: MailboxInput, current: MailboxRecord | null): MailboxSettings {
    const name = input.name === undefined ? current!.name : checkName(input.name);
    const address = input.address === undefined ? current!.address : checkAddress(input.address, 'address');
    const aliases = checkAliases(input.aliases ?? current?.aliases ?? [], address);
    const groupId = input.groupId === undefined ? (current?.groupId ?? null) : checkGroupId(input.groupId);
    const signature =
      input.signature === undefined ? (current?.signature ?? null) : checkSignature(input.signature ?? null);
    const oauth2Input = input.oauth2 === undefined ? undefined : input.oauth2;
    const oauth2 =
      oauth2Input === undefined ? (current?.oauth2 ?? null) : oauth2Input === null ? null : checkOauth2(oauth2Input);
    let oauth2ClientSecret: string | null = null;
    if (oauth2) {
      const given = oauth2Input?.clientSecret;
      if (given !== undefined) oauth2ClientSecret = this.box.seal(checkClientSecret(given));
      else if (current?.oauth2ClientSecret && current.oauth2) oauth2ClientSecret = current.oauth2ClientSecret;
      else throw new BadRequestException('oauth2.clientSecret is required');
    }
    const imap = this.server('imapUrl', input.imapUrl, current?.imapUrl ?? null, current?.imapSecret ?? null, oauth2);
    const smtp = this.server('smtpUrl', input.smtpUrl, current?.smtpUrl ?? null, current?.smtpSecret ?? null, oauth2);
    return {
      name,
      address,
      aliases,
      groupId,
      signature,
      imapUrl: imap.url,
      imapSecret: imap.secret,
      smtpUrl: smtp.url,
      smtpSecret: smtp.secret,
      oauth2,
      oauth2ClientSecret,
    };
  }

  /**
   * One server's URL and sealed password. The password given in the URL is taken out and sealed;
   * a URL without one keeps the stored password while it names the same server and user (a PATCH
   * of what GET gave), never for another server. With OAuth2 the URL carries a user and no password.
   */
  private server(
    field: 'imapUrl' | 'smtpUrl',
    given: string | null | undefined,
    currentUrl: string | null,
    currentSecret: string | null,
    oauth2: Oauth2Settings | null,
  ): { url: string | null; secret: string | null } {
    const raw = given === undefined ? currentUrl : given;
    if (raw === null) return { url: null, secret: null };
    const url = checkServerUrl(field, raw);
    const password = passwordOf(raw);
    const user = userOf(raw);
    if (oauth2) {
      if (password !== null && given !== undefined) {
        throw new BadRequestException(`${field} must not carry a password when oauth2 is set (XOAUTH2 logs in)`);
      }
      if (!user) throw new BadRequestException(`${field} must name the user to log in as (imap://user@host)`);
      return { url, secret: null };
    }
    if (password !== null) return { url, secret: this.box.seal(password) };
    if (currentSecret && currentUrl && sameServer(currentUrl, url)) return { url, secret: currentSecret };
    if (user && field === 'imapUrl') {
      throw new BadRequestException(`${field} needs a password (imap://user:password@host/INBOX) or oauth2`);
    }
    if (user) throw new BadRequestException(`${field} names a user but no password (smtp://user:password@host)`);
    if (field === 'imapUrl') throw new BadRequestException(`${field} must name a user and a password, or use oauth2`);
    return { url, secret: null };
  }
}

/** The settings of a stored mailbox, unchanged. */
function settingsFromRecord(m: MailboxRecord): MailboxSettings {
  return {
    name: m.name,
    address: m.address,
    aliases: m.aliases,
    groupId: m.groupId,
    signature: m.signature,
    imapUrl: m.imapUrl,
    imapSecret: m.imapSecret,
    smtpUrl: m.smtpUrl,
    smtpSecret: m.smtpSecret,
    oauth2: m.oauth2,
    oauth2ClientSecret: m.oauth2ClientSecret,
  };
}

/** Whether the OAuth2 client changed, so the tokens stored are another client's (or none is wanted). */
function oauth2ClientChanged(current: MailboxRecord, next: MailboxSettings): boolean {
  const a = current.oauth2;
  const b = next.oauth2;
  if (!a || !b) return a !== b;
  return (
    a.provider !== b.provider ||
    a.clientId !== b.clientId ||
    (a.tenant ?? null) !== (b.tenant ?? null) ||
    (a.tokenUrl ?? null) !== (b.tokenUrl ?? null) ||
    current.oauth2ClientSecret !== next.oauth2ClientSecret
  );
}

/** Same scheme, host, port and user: a stored password may stay with the URL. */
function sameServer(a: string, b: string): boolean {
  try {
    const x = new URL(a);
    const y = new URL(b);
    return x.protocol === y.protocol && x.hostname === y.hostname && x.port === y.port && x.username === y.username;
  } catch {
    return false;
  }
}

/** Whether `text` holds a control character (or, with `space`, white space): URL parsing would silently drop some. */
function hasControl(text: string, space = false): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || (space && c === 0x20)) return true;
  }
  return false;
}

function checkName(name: string): string {
  const n = name.trim();
  if (!n || n.length > MAILBOX_LIMITS.name || hasControl(n)) {
    throw new BadRequestException(`name must be 1 to ${MAILBOX_LIMITS.name} characters on one line`);
  }
  return n;
}

function checkAddress(raw: string, field: string): string {
  const a = raw.trim().toLowerCase();
  if (a.length > MAILBOX_LIMITS.address || !isHostAddress(a) || !isRoutableAddress(a)) {
    throw new BadRequestException(
      `${field} must be an email address like support@example.com (got "${raw.slice(0, 80)}")`,
    );
  }
  return a;
}

function checkAliases(aliases: string[], address: string): string[] {
  if (aliases.length > MAILBOX_LIMITS.aliases) {
    throw new BadRequestException(`aliases: at most ${MAILBOX_LIMITS.aliases}`);
  }
  const out: string[] = [];
  for (const alias of aliases) {
    const a = checkAddress(alias, 'aliases');
    if (a !== address && !out.includes(a)) out.push(a);
  }
  return out;
}

function checkGroupId(groupId: number | null): number | null {
  if (groupId === null) return null;
  if (!Number.isInteger(groupId) || groupId < 1 || groupId > 2_147_483_647) {
    throw new BadRequestException('groupId must be a positive integer or null');
  }
  return groupId;
}

function checkSignature(signature: string | null): string | null {
  if (signature === null) return null;
  if (signature.length > MAILBOX_LIMITS.signature || signature.includes(String.fromCharCode(0))) {
    throw new BadRequestException(`signature must be at most ${MAILBOX_LIMITS.signature} characters`);
  }
  return signature.trim() ? signature : null;
}

/** imap:/imaps: or smtp:/smtps: with a host; kept without its password. */
function checkServerUrl(field: 'imapUrl' | 'smtpUrl', raw: string): string {
  const schemes = field === 'imapUrl' ? ['imap:', 'imaps:'] : ['smtp:', 'smtps:'];
  const example =
    field === 'imapUrl' ? 'imaps://user:password@imap.example.com/INBOX' : 'smtps://user:password@smtp.example.com';
  if (raw.length > MAILBOX_LIMITS.url || hasControl(raw, true)) {
    throw new BadRequestException(`${field} must be a URL of at most ${MAILBOX_LIMITS.url} characters without spaces`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BadRequestException(`${field} must be a URL like ${example}`);
  }
  if (!schemes.includes(url.protocol)) {
    throw new BadRequestException(`${field} must start with ${schemes.map((s) => s + '//').join(' or ')}`);
  }
  if (!url.hostname) throw new BadRequestException(`${field} has no host`);
  if (url.search || url.hash) throw new BadRequestException(`${field} takes no query or fragment`);
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
    decodeURIComponent(url.pathname);
  } catch {
    throw new BadRequestException(`${field} has a malformed percent-encoding`);
  }
  return withoutPassword(raw);
}

function checkClientSecret(secret: string): string {
  if (!secret || secret.length > MAILBOX_LIMITS.clientSecret) {
    throw new BadRequestException(`oauth2.clientSecret must be 1 to ${MAILBOX_LIMITS.clientSecret} characters`);
  }
  return secret;
}

function checkHttpUrl(field: string, raw: string): string {
  if (raw.length > MAILBOX_LIMITS.url || hasControl(raw, true)) {
    throw new BadRequestException(`${field} must be an http(s) URL of at most ${MAILBOX_LIMITS.url} characters`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new BadRequestException(`${field} must be an http(s) URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new BadRequestException(`${field} must be an http(s) URL`);
  if (url.username || url.password) throw new BadRequestException(`${field} must not carry credentials`);
  return raw;
}

/** The OAuth2 client without its secret: provider enum, generic's endpoints, Microsoft's tenant. */
function checkOauth2(input: Oauth2Input): Oauth2Settings {
  if (!OAUTH2_PROVIDERS.includes(input.provider)) {
    throw new BadRequestException(`oauth2.provider must be one of ${OAUTH2_PROVIDERS.join(', ')}`);
  }
  const clientId = (input.clientId ?? '').trim();
  if (!clientId || clientId.length > MAILBOX_LIMITS.clientId || hasControl(clientId, true)) {
    throw new BadRequestException(`oauth2.clientId must be 1 to ${MAILBOX_LIMITS.clientId} characters`);
  }
  const out: Oauth2Settings = { provider: input.provider, clientId };
  if (input.provider === 'microsoft') {
    const tenant = input.tenant?.trim() || MICROSOFT_DEFAULT_TENANT;
    if (tenant.length > MAILBOX_LIMITS.tenant || !/^[A-Za-z0-9.-]+$/.test(tenant)) {
      throw new BadRequestException('oauth2.tenant must be a directory id, a domain, common or organizations');
    }
    out.tenant = tenant;
  } else if (input.tenant !== undefined) {
    throw new BadRequestException('oauth2.tenant is for the microsoft provider only');
  }
  if (input.authorizeUrl !== undefined) out.authorizeUrl = checkHttpUrl('oauth2.authorizeUrl', input.authorizeUrl);
  if (input.tokenUrl !== undefined) out.tokenUrl = checkHttpUrl('oauth2.tokenUrl', input.tokenUrl);
  if (input.provider === 'generic' && (!out.authorizeUrl || !out.tokenUrl)) {
    throw new BadRequestException('oauth2 provider generic needs authorizeUrl and tokenUrl');
  }
  if (input.scopes !== undefined) {
    if (input.scopes.length > MAILBOX_LIMITS.scopes) {
      throw new BadRequestException(`oauth2.scopes: at most ${MAILBOX_LIMITS.scopes}`);
    }
    for (const scope of input.scopes) {
      if (typeof scope !== 'string' || !scope || scope.length > MAILBOX_LIMITS.scope || /[\s"\\]/.test(scope)) {
        throw new BadRequestException('oauth2.scopes must be scope names without spaces');
      }
    }
    out.scopes = [...new Set(input.scopes)];
  }
  return out;
}
