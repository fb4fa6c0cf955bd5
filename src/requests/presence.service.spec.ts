import { NotFoundException } from '@nestjs/common';
import type { AuthOperator } from '../common/auth.decorators';
import type { Presence, PresenceState, PresenceStore } from './presence.repository';
import { PRESENCE_PURGE_BATCH, PresenceService } from './presence.service';
import { canSeeRequest, type RequestActor } from './request-scope';

/** Presence in memory, with a clock the test moves. */
class MemoryPresence implements PresenceStore {
  now = 1_000_000;
  rows = new Map<
    string,
    { requestId: number; operatorId: number; state: PresenceState; since: number; expires: number }
  >();
  purges: number[] = [];
  names = new Map([
    [2, 'Grace'],
    [3, 'Ada'],
  ]);

  upsert(requestId: number, operatorId: number, state: PresenceState, ttlSeconds: number): Promise<void> {
    const key = `${requestId}/${operatorId}`;
    const old = this.rows.get(key);
    const keep = old && old.state === state && old.expires > this.now;
    this.rows.set(key, {
      requestId,
      operatorId,
      state,
      since: keep ? old.since : this.now,
      expires: this.now + ttlSeconds * 1000,
    });
    return Promise.resolve();
  }

  remove(requestId: number, operatorId: number): Promise<void> {
    this.rows.delete(`${requestId}/${operatorId}`);
    return Promise.resolve();
  }

  listLive(requestId: number): Promise<Presence[]> {
    return Promise.resolve(
      [...this.rows.values()]
        .filter((r) => r.requestId === requestId && r.expires > this.now)
        .sort((a, b) => a.since - b.since || a.operatorId - b.operatorId)
        .map((r) => ({
          operatorId: r.operatorId,
          operatorName: this.names.get(r.operatorId) ?? '?',
          state: r.state,
          since: new Date(r.since),
          expiresAt: new Date(r.expires),
        })),
    );
  }

  purgeExpired(limit: number): Promise<void> {
    this.purges.push(limit);
    let n = 0;
    for (const [key, r] of this.rows) if (r.expires <= this.now && n++ < limit) this.rows.delete(key);
    return Promise.resolve();
  }
}

const GRACE: AuthOperator = { id: 2, email: 'grace@desk.example', name: 'Grace', role: 'operator', groupIds: [] };
const ADA: AuthOperator = { id: 3, email: 'ada@desk.example', name: 'Ada', role: 'operator', groupIds: [7] };

describe('PresenceService rules', () => {
  let store: MemoryPresence;
  let presence: PresenceService;
  /** Request 10 in no group, 11 in group 7, 12 in group 8. */
  const groups = new Map<number, number | null>([
    [10, null],
    [11, 7],
    [12, 8],
  ]);

  beforeEach(() => {
    store = new MemoryPresence();
    const requests = {
      findVisible: (id: number, actor: RequestActor) =>
        Promise.resolve(groups.has(id) && canSeeRequest(actor, groups.get(id)!) ? ({ id } as never) : null),
    };
    presence = new PresenceService(store, { presence: { ttlSeconds: 30 } }, requests);
  });

  it('shows every operator on a request, the earliest first, until their announcement expires', async () => {
    await presence.announce(11, GRACE, 'viewing');
    store.now += 5_000;
    const both = await presence.announce(11, ADA, 'replying');
    expect(both.map((p) => [p.operatorName, p.state])).toEqual([
      ['Grace', 'viewing'],
      ['Ada', 'replying'],
    ]);
    expect(both[0].expiresAt.getTime() - both[0].since.getTime()).toBe(30_000);
    store.now += 26_000; // Grace's 30 s are over, Ada's are not.
    expect((await presence.list(11, GRACE)).map((p) => p.operatorName)).toEqual(['Ada']);
  });

  it('renews: the same state keeps its since, a new state starts again; one row per operator', async () => {
    const [first] = await presence.announce(10, GRACE, 'viewing');
    store.now += 10_000;
    const [renewed] = await presence.announce(10, GRACE, 'viewing');
    expect(renewed.since).toEqual(first.since);
    expect(renewed.expiresAt.getTime()).toBe(store.now + 30_000);
    store.now += 1_000;
    const [replying] = await presence.announce(10, GRACE, 'replying');
    expect(replying).toMatchObject({ state: 'replying', since: new Date(store.now) });
    expect(store.rows.size).toBe(1);
  });

  it('leaves on DELETE, and cleans up expired rows of any request on a write, bounded', async () => {
    await presence.announce(10, GRACE, 'viewing');
    await presence.leave(10, GRACE);
    expect(await presence.list(10, GRACE)).toEqual([]);
    await presence.leave(10, GRACE); // leaving twice is fine

    await presence.announce(11, ADA, 'viewing');
    store.now += 31_000;
    await presence.announce(10, GRACE, 'viewing');
    expect([...store.rows.keys()]).toEqual(['10/2']);
    expect(store.purges.every((l) => l === PRESENCE_PURGE_BATCH)).toBe(true);
  });

  it('answers 404 for a request of another group (or none), whatever the verb', async () => {
    await expect(presence.announce(12, ADA, 'viewing')).rejects.toBeInstanceOf(NotFoundException);
    await expect(presence.list(12, ADA)).rejects.toBeInstanceOf(NotFoundException);
    await expect(presence.leave(12, ADA)).rejects.toBeInstanceOf(NotFoundException);
    await expect(presence.list(99, GRACE)).rejects.toBeInstanceOf(NotFoundException);
    expect(store.rows.size).toBe(0);
  });
});
