import type { EntityManager } from 'typeorm';
import type { ThreadSides } from '../../src/inbound-mail/threading/side-thread';

/** One side thread of the fake: its token, addresses and the Message-IDs of its messages. */
export interface MemorySideThread {
  id: number;
  requestId: number;
  token: string;
  addresses: string[];
  messageIds: string[];
}

/**
 * Side threads in memory, answering as SideThreadsService.findReplyThread does (the SQL
 * findForReply): a thread named by a token or by one of its messages' Message-IDs, whose
 * addresses hold the sender; the newest such.
 */
export class MemorySideThreads implements ThreadSides {
  readonly threads: MemorySideThread[] = [];
  /** Every lookup, for tests of bounds. */
  readonly lookups: Array<{ tokens: string[]; messageIds: string[]; sender: string }> = [];

  add(t: Omit<MemorySideThread, 'id'>): MemorySideThread {
    const thread = { id: this.threads.length + 1, ...t };
    this.threads.push(thread);
    return thread;
  }

  findReplyThread(
    _manager: EntityManager,
    tokens: string[],
    messageIds: string[],
    sender: string,
  ): Promise<{ id: number; requestId: number } | null> {
    this.lookups.push({ tokens, messageIds, sender });
    const found = [...this.threads]
      .reverse()
      .find(
        (t) =>
          t.addresses.includes(sender) &&
          (tokens.includes(t.token) || t.messageIds.some((id) => messageIds.includes(id))),
      );
    return Promise.resolve(found ? { id: found.id, requestId: found.requestId } : null);
  }
}
