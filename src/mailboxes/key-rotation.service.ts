import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { KeyRing, sealedKeyId } from './secret-box';
import { MailboxesRepository, type SealedColumns } from './mailboxes.repository';

/** What the key rotation needs of storage. */
export interface SealedColumnsStore {
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T>;
  sealedColumns(manager: EntityManager): Promise<SealedColumns>;
  writeSealedColumns(manager: EntityManager, sealed: SealedColumns): Promise<void>;
}

/** What a re-seal did. */
export interface ResealResult {
  /** Sealed values rewritten with the ring's first key. */
  resealed: number;
  /** How many of them had been sealed with each key id before. */
  byKeyId: Record<string, number>;
}

/**
 * Re-seals every stored secret (the mailboxes' `*_secret` columns and the pending OAuth2
 * authorizations' PKCE verifiers) with the first key of a ring, in ONE transaction: every value is
 * opened first, so a value no key of the ring opens aborts the whole rotation (naming its key id)
 * and nothing is changed.
 */
@Injectable()
export class KeyRotationService {
  constructor(@Inject(MailboxesRepository) private readonly store: SealedColumnsStore) {}

  async reseal(ring: KeyRing): Promise<ResealResult> {
    return this.store.transaction(async (m) => {
      const sealed = await this.store.sealedColumns(m);
      const byKeyId: Record<string, number> = {};
      let resealed = 0;
      const again = (value: string | null): string | null => {
        if (value === null) return null;
        const id = sealedKeyId(value) ?? 'unknown';
        const plain = ring.open(value);
        byKeyId[id] = (byKeyId[id] ?? 0) + 1;
        resealed++;
        return ring.seal(plain);
      };
      const next: SealedColumns = {
        mailboxes: sealed.mailboxes.map((r) => ({
          id: r.id,
          imapSecret: again(r.imapSecret),
          smtpSecret: again(r.smtpSecret),
          oauth2ClientSecret: again(r.oauth2ClientSecret),
          oauth2RefreshSecret: again(r.oauth2RefreshSecret),
          oauth2AccessSecret: again(r.oauth2AccessSecret),
        })),
        verifiers: sealed.verifiers.map((v) => ({ stateHash: v.stateHash, verifierSecret: again(v.verifierSecret)! })),
      };
      await this.store.writeSealedColumns(m, next);
      return { resealed, byKeyId };
    });
  }
}
