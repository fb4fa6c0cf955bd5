import type { DataSource, EntityManager } from 'typeorm';
import { afterCommit } from '../database/after-commit';

/** Per DataSource (per app: two apps in one process, as in the tests, do not hear each other). */
interface Signal {
  listeners: Set<() => void>;
  /** One function per DataSource, so that afterCommit runs it once per transaction. */
  fire: () => void;
}

const signals = new WeakMap<DataSource, Signal>();

function signalOf(dataSource: DataSource): Signal {
  let signal = signals.get(dataSource);
  if (!signal) {
    const listeners = new Set<() => void>();
    signal = {
      listeners,
      fire: () => {
        for (const listener of listeners) listener();
      },
    };
    signals.set(dataSource, signal);
  }
  return signal;
}

/**
 * Says, in this process, that rows of request_events were written by `manager`: once its
 * transaction commits (at once outside a transaction; never on a rollback). The live event hub
 * (src/events/) reads the table then, without waiting for PostgreSQL's NOTIFY or its poll; on the
 * embedded database, where nobody LISTENs (one session: a listening one starved everything,
 * issue 16), this is how it learns of new events at once. A hint, never the data: the hub reads
 * what was committed.
 */
export function requestEventsWritten(manager: EntityManager): void {
  afterCommit(manager, signalOf(manager.dataSource).fire);
}

/** Calls `listener` after each commit that wrote request events through `dataSource`; returns the unsubscribe. */
export function onRequestEventsWritten(dataSource: DataSource, listener: () => void): () => void {
  const { listeners } = signalOf(dataSource);
  listeners.add(listener);
  return () => listeners.delete(listener);
}
