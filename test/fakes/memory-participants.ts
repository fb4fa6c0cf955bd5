import type { EntityManager } from 'typeorm';
import type { Participant, ParticipantSource, ParticipantsStore } from '../../src/requests/participants.repository';

/**
 * ParticipantsStore in memory, for the unit tests of the participant rules: `customers` maps a
 * request id to its customer's address (never added, as SQL.add skips it).
 */
export class MemoryParticipants implements ParticipantsStore {
  readonly rows = new Map<number, Array<Participant & { source: ParticipantSource }>>();
  constructor(readonly customers = new Map<number, string>()) {}

  transaction<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return work({} as EntityManager);
  }

  list(requestId: number): Promise<Participant[]> {
    return Promise.resolve((this.rows.get(requestId) ?? []).map(({ email, name }) => ({ email, name })));
  }

  add(requestId: number, people: readonly Participant[], source: ParticipantSource, limit: number): Promise<string[]> {
    const rows = this.rows.get(requestId) ?? [];
    this.rows.set(requestId, rows);
    const added: string[] = [];
    for (const p of people) {
      if (rows.length >= limit) break;
      if (rows.some((r) => r.email === p.email) || this.customers.get(requestId) === p.email) continue;
      rows.push({ ...p, source });
      added.push(p.email);
    }
    return Promise.resolve(added);
  }

  removeOthers(requestId: number, keep: readonly string[]): Promise<string[]> {
    const rows = this.rows.get(requestId) ?? [];
    const removed = rows.filter((r) => !keep.includes(r.email)).map((r) => r.email);
    this.rows.set(
      requestId,
      rows.filter((r) => keep.includes(r.email)),
    );
    return Promise.resolve(removed);
  }

  rename(requestId: number, email: string, name: string | null): Promise<void> {
    const row = (this.rows.get(requestId) ?? []).find((r) => r.email === email);
    if (row && name !== null) row.name = name;
    return Promise.resolve();
  }
}
