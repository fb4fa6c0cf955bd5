import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';

/** Who added a participant: a mail's To/Cc, an operator (Cc or the list), or a merge of requests. */
export type ParticipantSource = 'mail' | 'operator' | 'merge';

/** One other person of a request (request_participants): a lower-case address and the name a mail gave. */
export interface Participant {
  email: string;
  name: string | null;
}

/**
 * The statements of a request's participants (request_participants; written to
 * participants.repository.sql by `npm run sql`).
 */
export const SQL = {
  /** The participants of request $1, in the order they joined. */
  list: `SELECT email, name FROM request_participants WHERE request_id = $1 ORDER BY created_at, email`,
  /**
   * Adds the addresses $2 (names $3, in order) from source $4 to request $1, up to $5 participants
   * in all: an address that already is one, or that is the request's customer, is skipped; past
   * the limit the rest are left out. The addresses added, in order. Each row's time is one
   * microsecond after the one before it, so the order they joined survives a coarse clock (PGlite).
   */
  add: `INSERT INTO request_participants (request_id, email, name, source, created_at)
    SELECT $1, e.email, e.name, $4, clock_timestamp() + (e.i - 1) * interval '1 microsecond'
      FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS e(email, name, i)
     WHERE NOT EXISTS (SELECT 1 FROM request_participants p WHERE p.request_id = $1 AND p.email = e.email)
       AND e.email <> (SELECT c.email FROM requests r JOIN customers c ON c.id = r.customer_id WHERE r.id = $1)
     ORDER BY e.i
     LIMIT GREATEST(0, $5::integer - (SELECT count(*) FROM request_participants WHERE request_id = $1))
    ON CONFLICT (request_id, email) DO NOTHING
    RETURNING email`,
  /** Removes every participant of request $1 but the addresses $2; the addresses removed. */
  removeOthers: `DELETE FROM request_participants WHERE request_id = $1 AND NOT (email = ANY ($2::text[])) RETURNING email`,
  /** Sets the name of participant $2 of request $1 to $3 when one is given. */
  rename: `UPDATE request_participants SET name = $3 WHERE request_id = $1 AND email = $2 AND $3::text IS NOT NULL
       AND name IS DISTINCT FROM $3`,
} as const;

/** What the participant rules need of storage (ParticipantsRepository; an in-memory fake in unit tests). */
export interface ParticipantsStore {
  /** Runs `work` in one transaction: the methods given its manager run in it. */
  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T>;
  /** The request's participants, in the order they joined. */
  list(requestId: number, manager?: EntityManager): Promise<Participant[]>;
  /**
   * Adds these (lower-case, distinct) participants, skipping the customer and those already on
   * it, up to `limit` in all; the addresses added.
   */
  add(
    requestId: number,
    people: readonly Participant[],
    source: ParticipantSource,
    limit: number,
    manager?: EntityManager,
  ): Promise<string[]>;
  /** Removes every participant but `keep`; the addresses removed. */
  removeOthers(requestId: number, keep: readonly string[], manager?: EntityManager): Promise<string[]>;
  /** Gives a participant the name given (none: unchanged). */
  rename(requestId: number, email: string, name: string | null, manager?: EntityManager): Promise<void>;
}

/** A request's participants in PostgreSQL. */
@Injectable()
export class ParticipantsRepository implements ParticipantsStore {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  list(requestId: number, manager: EntityManager = this.dataSource.manager): Promise<Participant[]> {
    return manager.query(SQL.list, [requestId]);
  }

  async add(
    requestId: number,
    people: readonly Participant[],
    source: ParticipantSource,
    limit: number,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<string[]> {
    if (people.length === 0) return [];
    const rows: Array<{ email: string }> = await manager.query(SQL.add, [
      requestId,
      people.map((p) => p.email),
      people.map((p) => p.name),
      source,
      limit,
    ]);
    return rows.map((r) => r.email);
  }

  async removeOthers(
    requestId: number,
    keep: readonly string[],
    manager: EntityManager = this.dataSource.manager,
  ): Promise<string[]> {
    const [rows]: [Array<{ email: string }>, number] = await manager.query(SQL.removeOthers, [requestId, keep]);
    return rows.map((r) => r.email);
  }

  async rename(
    requestId: number,
    email: string,
    name: string | null,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<void> {
    await manager.query(SQL.rename, [requestId, email, name]);
  }
}
