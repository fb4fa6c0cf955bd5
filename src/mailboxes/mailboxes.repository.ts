import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { MailboxRecord, MailboxState, Oauth2Settings } from './mailbox';

/**
 * The statements of the mailboxes aggregate (written to mailboxes.repository.sql by `npm run sql`):
 * `mailboxes`, the `mailbox_addresses` that reserve their addresses and aliases, and the sealed
 * columns the key rotation re-seals (`oauth2_authorizations.verifier_secret` among them).
 */
export const SQL = {
  list: `SELECT * FROM mailboxes ORDER BY id`,
  get: `SELECT * FROM mailboxes WHERE id = $1`,
  /** The cheap change probe: grows whenever a mailbox is added or its version bumped. */
  probe: `SELECT count(*)::int AS n, coalesce(sum(version), 0)::text AS v FROM mailboxes`,
  insert: `INSERT INTO mailboxes (name, address, aliases, group_id, signature, imap_url, imap_secret,
      smtp_url, smtp_secret, oauth2, oauth2_client_secret)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
  update: `UPDATE mailboxes SET name = $2, address = $3, aliases = $4, group_id = $5, signature = $6,
      imap_url = $7, imap_secret = $8, smtp_url = $9, smtp_secret = $10, oauth2 = $11, oauth2_client_secret = $12,
      oauth2_refresh_secret = CASE WHEN $13 THEN NULL ELSE oauth2_refresh_secret END,
      oauth2_access_secret = CASE WHEN $13 THEN NULL ELSE oauth2_access_secret END,
      oauth2_access_expires_at = CASE WHEN $13 THEN NULL ELSE oauth2_access_expires_at END,
      version = version + 1, updated_at = now()
    WHERE id = $1 RETURNING *`,
  /** Locks the group a mailbox is given, so it cannot go before the mailbox is written. */
  lockGroup: `SELECT id FROM groups WHERE id = $1 FOR KEY SHARE`,
  deleteAddresses: `DELETE FROM mailbox_addresses WHERE mailbox_id = $1`,
  reserveAddresses: `INSERT INTO mailbox_addresses (address, mailbox_id)
    SELECT DISTINCT unnest($2::text[]), $1::int ON CONFLICT (address) DO NOTHING RETURNING address`,
  takenAddresses: `SELECT address FROM mailbox_addresses WHERE address = ANY ($1) AND mailbox_id <> $2`,
  setState: `UPDATE mailboxes SET state = $2,
      version = version + CASE WHEN state IN ('needs_reauthorization', 'disabled')
        OR $2 IN ('needs_reauthorization', 'disabled') THEN 1 ELSE 0 END,
      updated_at = now()
    WHERE id = $1 AND state <> $2 AND ($3::text[] IS NULL OR state = ANY ($3)) RETURNING *`,
  recordPollSuccess: `UPDATE mailboxes SET last_success_at = $2, backlog = coalesce($3, backlog),
      state = CASE WHEN state = 'error' THEN 'active' ELSE state END
    WHERE id = $1`,
  recordPollError: `UPDATE mailboxes SET last_error = $2, last_error_at = $3, backlog = coalesce($4, backlog),
      state = CASE WHEN state = 'active' THEN 'error' ELSE state END
    WHERE id = $1`,
  storeTokens: `UPDATE mailboxes SET
      oauth2_refresh_secret = CASE WHEN $2 THEN $3 ELSE oauth2_refresh_secret END,
      oauth2_access_secret = $4, oauth2_access_expires_at = $5
    WHERE id = $1 RETURNING *`,
  bumpVersion: `UPDATE mailboxes SET version = version + 1, updated_at = now() WHERE id = $1`,
  defaultRow: `SELECT * FROM mailboxes WHERE is_default`,
  insertDefault: `INSERT INTO mailboxes (name, address, is_default) VALUES ($1, $2, true)
    ON CONFLICT (is_default) WHERE is_default DO NOTHING RETURNING *`,
  updateDefault: `UPDATE mailboxes SET name = $2, address = $3, version = version + 1, updated_at = now()
    WHERE id = $1 AND is_default RETURNING *`,
  sealedMailboxColumns: `SELECT id, imap_secret, smtp_secret, oauth2_client_secret, oauth2_refresh_secret,
      oauth2_access_secret
    FROM mailboxes ORDER BY id FOR UPDATE`,
  resealMailbox: `UPDATE mailboxes SET imap_secret = $2, smtp_secret = $3, oauth2_client_secret = $4,
      oauth2_refresh_secret = $5, oauth2_access_secret = $6
    WHERE id = $1`,
  sealedVerifiers: `SELECT state_hash, verifier_secret FROM oauth2_authorizations ORDER BY state_hash FOR UPDATE`,
  resealVerifier: `UPDATE oauth2_authorizations SET verifier_secret = $2 WHERE state_hash = $1`,
} as const;

/** The longest poller error message kept. */
const MAX_ERROR = 2000;

/** The settings of a mailbox a caller writes (secrets already sealed; addresses lowercase). */
export interface MailboxSettings {
  name: string;
  address: string;
  aliases: string[];
  groupId: number | null;
  signature: string | null;
  imapUrl: string | null;
  imapSecret: string | null;
  smtpUrl: string | null;
  smtpSecret: string | null;
  oauth2: Oauth2Settings | null;
  oauth2ClientSecret: string | null;
}

/** Why a write of settings did not happen (the service answers 409, 404 or 400). */
export type MailboxWriteFailure =
  | { ok: false; reason: 'address_taken'; addresses: string[] }
  | { ok: false; reason: 'group_not_found' }
  | { ok: false; reason: 'not_found' };

/** The outcome of a write of settings. */
export type MailboxWriteResult = { ok: true; mailbox: MailboxRecord } | MailboxWriteFailure;

/** What a poller reports after a round (MailboxesRepository.recordPollerStatus). */
export type PollerStatus =
  { ok: true; at: Date; backlog?: number | null } | { ok: false; at: Date; error: string; backlog?: number | null };

/** A mailbox's OAuth2 tokens, sealed; `refreshSecret` undefined keeps the stored one. */
export interface SealedTokens {
  refreshSecret?: string | null;
  accessSecret: string | null;
  accessExpiresAt: Date | null;
}

/** The outcome of making sure the default mailbox matches the environment. */
export interface DefaultMailboxResult {
  mailbox: MailboxRecord;
  /** Addresses the environment gives the default mailbox that another mailbox holds already. */
  conflicts: string[];
}

/** Every sealed value stored, keyed so it can be written back (the key rotation). */
export interface SealedColumns {
  mailboxes: {
    id: number;
    imapSecret: string | null;
    smtpSecret: string | null;
    oauth2ClientSecret: string | null;
    oauth2RefreshSecret: string | null;
    oauth2AccessSecret: string | null;
  }[];
  verifiers: { stateHash: string; verifierSecret: string }[];
}

function toDate(v: unknown): Date | null {
  return v === null || v === undefined ? null : new Date(v as string | Date);
}

function toOauth2(v: unknown): Oauth2Settings | null {
  if (v === null || v === undefined) return null;
  return (typeof v === 'string' ? JSON.parse(v) : v) as Oauth2Settings;
}

/** A row of `mailboxes` as MailboxRecord. */
export function fromRow(r: Record<string, unknown>): MailboxRecord {
  return {
    id: Number(r.id),
    name: r.name as string,
    address: r.address as string,
    aliases: (r.aliases as string[] | null) ?? [],
    groupId: r.group_id === null || r.group_id === undefined ? null : Number(r.group_id),
    signature: (r.signature as string | null) ?? null,
    isDefault: r.is_default === true,
    imapUrl: (r.imap_url as string | null) ?? null,
    imapSecret: (r.imap_secret as string | null) ?? null,
    smtpUrl: (r.smtp_url as string | null) ?? null,
    smtpSecret: (r.smtp_secret as string | null) ?? null,
    oauth2: toOauth2(r.oauth2),
    oauth2ClientSecret: (r.oauth2_client_secret as string | null) ?? null,
    oauth2RefreshSecret: (r.oauth2_refresh_secret as string | null) ?? null,
    oauth2AccessSecret: (r.oauth2_access_secret as string | null) ?? null,
    oauth2AccessExpiresAt: toDate(r.oauth2_access_expires_at),
    state: r.state as MailboxState,
    lastError: (r.last_error as string | null) ?? null,
    lastErrorAt: toDate(r.last_error_at),
    lastSuccessAt: toDate(r.last_success_at),
    backlog: r.backlog === null || r.backlog === undefined ? null : Number(r.backlog),
    version: Number(r.version),
    createdAt: new Date(r.created_at as string | Date),
    updatedAt: new Date(r.updated_at as string | Date),
  };
}

/** A write that must roll back its transaction, carrying the result to answer with. */
class Rollback extends Error {
  constructor(readonly failure: MailboxWriteFailure) {
    super(failure.reason);
  }
}

/** PostgreSQL's foreign key violation: the group a mailbox names does not exist. */
function isForeignKeyViolation(e: unknown): boolean {
  const err = e as { code?: string; driverError?: { code?: string } };
  return (err?.driverError?.code ?? err?.code) === '23503';
}

/** Every address a mailbox's settings reserve: its address and aliases, lowercase, once each. */
export function addressesOf(settings: Pick<MailboxSettings, 'address' | 'aliases'>): string[] {
  return [...new Set([settings.address, ...settings.aliases].map((a) => a.toLowerCase()))];
}

/** What the mailbox rules and the directory need of storage (an in-memory fake in unit tests). */
export interface MailboxesStore {
  /** Every mailbox, disabled ones included, ordered by id. */
  list(): Promise<MailboxRecord[]>;
  get(id: number): Promise<MailboxRecord | null>;
  /** A number that changes whenever a mailbox is added or its version grows. */
  probe(): Promise<string>;
  /** A new mailbox with its addresses reserved, in one transaction. */
  insert(settings: MailboxSettings): Promise<MailboxWriteResult>;
  /**
   * Replaces a mailbox's settings and its reserved addresses, bumping its version;
   * `resetTokens` drops its OAuth2 tokens (the client changed: they are another client's).
   */
  update(id: number, settings: MailboxSettings, resetTokens: boolean): Promise<MailboxWriteResult>;
  /**
   * Moves the mailbox to `state` (only from one of `from`, when given); null when it did not move.
   * Bumps the version for moves to or from `needs_reauthorization` and `disabled`.
   */
  setState(id: number, state: MailboxState, from?: readonly MailboxState[]): Promise<MailboxRecord | null>;
  /** A poller's report: last success or error, backlog; `error` <-> `active`. Never bumps the version. */
  recordPollerStatus(id: number, status: PollerStatus): Promise<void>;
  /** Stores sealed OAuth2 tokens (never bumps the version); null when the mailbox does not exist. */
  storeOauth2Tokens(id: number, tokens: SealedTokens): Promise<MailboxRecord | null>;
  /** Bumps a mailbox's version so every instance reloads it (e.g. after it was authorized). */
  bumpVersion(id: number): Promise<void>;
  /** Creates or updates the mailbox the environment defines. */
  upsertDefault(address: string, name: string): Promise<DefaultMailboxResult>;
}

/** The mailboxes aggregate: `mailboxes` and `mailbox_addresses`. */
@Injectable()
export class MailboxesRepository implements MailboxesStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async list(): Promise<MailboxRecord[]> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(SQL.list);
    return rows.map(fromRow);
  }

  async get(id: number): Promise<MailboxRecord | null> {
    const rows: Record<string, unknown>[] = await this.dataSource.query(SQL.get, [id]);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async probe(): Promise<string> {
    const rows: { n: number; v: string }[] = await this.dataSource.query(SQL.probe);
    return `${rows[0].n}:${rows[0].v}`;
  }

  insert(settings: MailboxSettings): Promise<MailboxWriteResult> {
    return this.write(async (m) => {
      await this.lockGroup(m, settings.groupId);
      const rows: Record<string, unknown>[] = await m.query(SQL.insert, [
        settings.name,
        settings.address,
        settings.aliases,
        settings.groupId,
        settings.signature,
        settings.imapUrl,
        settings.imapSecret,
        settings.smtpUrl,
        settings.smtpSecret,
        settings.oauth2 === null ? null : JSON.stringify(settings.oauth2),
        settings.oauth2ClientSecret,
      ]);
      const mailbox = fromRow(rows[0]);
      await this.reserve(m, mailbox.id, addressesOf(settings));
      return mailbox;
    });
  }

  update(id: number, settings: MailboxSettings, resetTokens: boolean): Promise<MailboxWriteResult> {
    return this.write(async (m) => {
      await this.lockGroup(m, settings.groupId);
      const result: unknown = await m.query(SQL.update, [
        id,
        settings.name,
        settings.address,
        settings.aliases,
        settings.groupId,
        settings.signature,
        settings.imapUrl,
        settings.imapSecret,
        settings.smtpUrl,
        settings.smtpSecret,
        settings.oauth2 === null ? null : JSON.stringify(settings.oauth2),
        settings.oauth2ClientSecret,
        resetTokens,
      ]);
      const row = updatedRows(result)[0];
      if (!row) throw new Rollback({ ok: false, reason: 'not_found' });
      await m.query(SQL.deleteAddresses, [id]);
      await this.reserve(m, id, addressesOf(settings));
      return fromRow(row);
    });
  }

  async setState(id: number, state: MailboxState, from?: readonly MailboxState[]): Promise<MailboxRecord | null> {
    const result: unknown = await this.dataSource.query(SQL.setState, [id, state, from ? [...from] : null]);
    const rows = updatedRows(result);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async recordPollerStatus(id: number, status: PollerStatus): Promise<void> {
    if (status.ok) {
      await this.dataSource.query(SQL.recordPollSuccess, [id, status.at, status.backlog ?? null]);
    } else {
      await this.dataSource.query(SQL.recordPollError, [
        id,
        status.error.slice(0, MAX_ERROR),
        status.at,
        status.backlog ?? null,
      ]);
    }
  }

  async storeOauth2Tokens(id: number, tokens: SealedTokens): Promise<MailboxRecord | null> {
    const result: unknown = await this.dataSource.query(SQL.storeTokens, [
      id,
      tokens.refreshSecret !== undefined,
      tokens.refreshSecret ?? null,
      tokens.accessSecret,
      tokens.accessExpiresAt,
    ]);
    const rows = updatedRows(result);
    return rows[0] ? fromRow(rows[0]) : null;
  }

  async bumpVersion(id: number): Promise<void> {
    await this.dataSource.query(SQL.bumpVersion, [id]);
  }

  /**
   * Creates the default mailbox, or brings its address and name in line with the environment
   * (bumping its version only when they changed), and reserves its address and aliases. An
   * address another mailbox holds already is left to it and reported in `conflicts`.
   * Instances starting together are safe: the partial unique index on `is_default` lets one insert.
   */
  async upsertDefault(address: string, name: string): Promise<DefaultMailboxResult> {
    return this.dataSource.transaction(async (m) => {
      const inserted: Record<string, unknown>[] = await m.query(SQL.insertDefault, [name, address]);
      let row = inserted[0];
      if (!row) {
        const current: Record<string, unknown>[] = await m.query(SQL.defaultRow);
        row = current[0];
        if (row.address !== address || row.name !== name) {
          row = updatedRows(await m.query(SQL.updateDefault, [row.id, name, address]))[0] ?? row;
        }
      }
      const mailbox = fromRow(row);
      const wanted = addressesOf(mailbox);
      await m.query(SQL.deleteAddresses, [mailbox.id]);
      const reserved: { address: string }[] = await m.query(SQL.reserveAddresses, [mailbox.id, wanted]);
      const got = new Set(reserved.map((r) => r.address));
      return { mailbox, conflicts: wanted.filter((a) => !got.has(a)) };
    });
  }

  /** Every sealed value, rows locked until `manager`'s transaction ends (the key rotation). */
  async sealedColumns(manager: EntityManager): Promise<SealedColumns> {
    const mailboxes: Record<string, string | null>[] = await manager.query(SQL.sealedMailboxColumns);
    const verifiers: { state_hash: string; verifier_secret: string }[] = await manager.query(SQL.sealedVerifiers);
    return {
      mailboxes: mailboxes.map((r) => ({
        id: Number(r.id),
        imapSecret: r.imap_secret,
        smtpSecret: r.smtp_secret,
        oauth2ClientSecret: r.oauth2_client_secret,
        oauth2RefreshSecret: r.oauth2_refresh_secret,
        oauth2AccessSecret: r.oauth2_access_secret,
      })),
      verifiers: verifiers.map((r) => ({ stateHash: r.state_hash, verifierSecret: r.verifier_secret })),
    };
  }

  /** Writes back the re-sealed values `sealedColumns` read, in `manager`'s transaction. */
  async writeSealedColumns(manager: EntityManager, sealed: SealedColumns): Promise<void> {
    for (const r of sealed.mailboxes) {
      await manager.query(SQL.resealMailbox, [
        r.id,
        r.imapSecret,
        r.smtpSecret,
        r.oauth2ClientSecret,
        r.oauth2RefreshSecret,
        r.oauth2AccessSecret,
      ]);
    }
    for (const v of sealed.verifiers) await manager.query(SQL.resealVerifier, [v.stateHash, v.verifierSecret]);
  }

  /** Runs `work` in a transaction (the key rotation: read, re-seal, write back, all or nothing). */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /** Rolls back with `group_not_found` unless the group exists (and keeps it until the commit). */
  private async lockGroup(m: EntityManager, groupId: number | null): Promise<void> {
    if (groupId === null) return;
    const rows: unknown[] = await m.query(SQL.lockGroup, [groupId]);
    if (!rows.length) throw new Rollback({ ok: false, reason: 'group_not_found' });
  }

  /** Reserves `addresses` for the mailbox, or rolls back naming the ones another mailbox holds. */
  private async reserve(m: EntityManager, id: number, addresses: string[]): Promise<void> {
    const reserved: { address: string }[] = await m.query(SQL.reserveAddresses, [id, addresses]);
    if (reserved.length === addresses.length) return;
    const taken: { address: string }[] = await m.query(SQL.takenAddresses, [addresses, id]);
    throw new Rollback({ ok: false, reason: 'address_taken', addresses: taken.map((t) => t.address) });
  }

  /** Runs a write of settings in a transaction, its failures as results. */
  private async write(work: (m: EntityManager) => Promise<MailboxRecord>): Promise<MailboxWriteResult> {
    try {
      return { ok: true, mailbox: await this.dataSource.transaction(work) };
    } catch (e) {
      if (e instanceof Rollback) return e.failure;
      if (isForeignKeyViolation(e)) return { ok: false, reason: 'group_not_found' };
      throw e;
    }
  }
}

/** The rows an UPDATE ... RETURNING gave (TypeORM's postgres driver answers `[rows, count]`). */
function updatedRows(result: unknown): Record<string, unknown>[] {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return result[0] as Record<string, unknown>[];
  }
  return result as Record<string, unknown>[];
}
