import type { SavedReply, SavedRepliesStore } from '../../src/saved-replies/saved-replies.repository';

/** SavedRepliesStore in memory, with the table's rules (unique lower(name) per scope, group FK), for unit tests. */
export class MemorySavedReplies implements SavedRepliesStore {
  readonly replies = new Map<number, SavedReply>();
  readonly groups = new Set<number>();
  readonly signatures = new Map<number, string | null>();
  private nextId = 1;

  list(scope: readonly number[] | null, groupId: number | null): Promise<SavedReply[]> {
    const rows = [...this.replies.values()]
      .filter((r) => scope === null || r.groupId === null || scope.includes(r.groupId))
      .filter((r) => groupId === null || r.groupId === groupId)
      .sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()) || a.id - b.id);
    return Promise.resolve(rows);
  }

  findById(id: number): Promise<SavedReply | null> {
    return Promise.resolve(this.replies.get(id) ?? null);
  }

  groupExists(id: number): Promise<boolean> {
    return Promise.resolve(this.groups.has(id));
  }

  insert(reply: Pick<SavedReply, 'name' | 'text' | 'groupId' | 'createdBy'>): Promise<SavedReply | null> {
    if (this.taken(reply.name, reply.groupId, 0)) return Promise.resolve(null);
    const now = new Date();
    const row: SavedReply = { ...reply, id: this.nextId++, createdAt: now, updatedAt: now };
    this.replies.set(row.id, row);
    return Promise.resolve(row);
  }

  update(id: number, changes: { name?: string; text?: string }): Promise<SavedReply | null> {
    const row = this.replies.get(id);
    if (!row || this.taken(changes.name ?? row.name, row.groupId, id)) return Promise.resolve(null);
    const updated = { ...row, ...changes, updatedAt: new Date() };
    this.replies.set(id, updated);
    return Promise.resolve(updated);
  }

  remove(id: number): Promise<boolean> {
    return Promise.resolve(this.replies.delete(id));
  }

  signatureOf(operatorId: number): Promise<string | null> {
    return Promise.resolve(this.signatures.get(operatorId) ?? null);
  }

  private taken(name: string, groupId: number | null, exceptId: number): boolean {
    return [...this.replies.values()].some(
      (r) => r.id !== exceptId && r.groupId === groupId && r.name.toLowerCase() === name.toLowerCase(),
    );
  }
}
