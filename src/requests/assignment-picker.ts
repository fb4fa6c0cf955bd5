import type { AssignmentMode } from '../config/config-variables';

/** An operator automatic assignment may pick: available, active, in the request's group (or in none). */
export interface AssignmentCandidate {
  id: number;
  name: string;
  /** Requests they hold in progress now (counted under their row lock). */
  load: number;
  /** Their own capacity column: null = the global OPERATOR_MAX_OPEN; 0 = unlimited. */
  capacity: number | null;
  /** When automatic assignment last gave them a request (the least-loaded tie-break), null = never. */
  lastAutoAssignedAt: Date | null;
}

/**
 * The limit of requests in progress of an operator: their own capacity, else OPERATOR_MAX_OPEN;
 * null when unlimited (either is 0: the global's meaning of 0, kept for the per-operator value).
 */
export function effectiveCapacity(own: number | null | undefined, globalMax: number): number | null {
  const max = own ?? globalMax;
  return max > 0 ? max : null;
}

/**
 * Picks an operator for each of `count` requests, in order; fewer picks than requests when everyone
 * is full. `candidates` are by id; loads grow as requests are given. Round robin: the next
 * candidate after `pointer` (the operator who got the previous request; null: start from the
 * lowest id) with room, wrapping; least loaded: the fewest in progress, then the longest since their
 * last automatic assignment (never first), then the lowest id. Pure: the caller holds the locks
 * that make the loads true (AutoAssignmentService).
 */
export function pickOperators(
  mode: Exclude<AssignmentMode, 'off'>,
  candidates: readonly AssignmentCandidate[],
  pointer: number | null,
  count: number,
  globalMax: number,
): AssignmentCandidate[] {
  const pool = [...candidates]
    .sort((a, b) => a.id - b.id)
    .map((c) => ({ ...c, limit: effectiveCapacity(c.capacity, globalMax) }));
  const hasRoom = (c: (typeof pool)[number]) => c.limit === null || c.load < c.limit;
  const picks: AssignmentCandidate[] = [];
  let last = pointer;
  // A tick per pick stands for "now", so the operator just given one is the most recent.
  let tick = 0;
  const recency = new Map<number, number>();
  for (let i = 0; i < count; i++) {
    const open = pool.filter(hasRoom);
    if (!open.length) break;
    let chosen: (typeof pool)[number];
    if (mode === 'round_robin') {
      chosen = open.find((c) => last === null || c.id > last) ?? open[0];
    } else {
      chosen = open.reduce((best, c) => (compareLeastLoaded(c, best, recency) < 0 ? c : best));
    }
    chosen.load += 1;
    recency.set(chosen.id, ++tick);
    last = chosen.id;
    picks.push({
      id: chosen.id,
      name: chosen.name,
      load: chosen.load,
      capacity: chosen.capacity,
      lastAutoAssignedAt: chosen.lastAutoAssignedAt,
    });
  }
  return picks;
}

/** Least loaded first; then the longest since the last automatic assignment (never: first); then by id. */
function compareLeastLoaded(a: AssignmentCandidate, b: AssignmentCandidate, recency: Map<number, number>): number {
  if (a.load !== b.load) return a.load - b.load;
  const ra = recency.get(a.id);
  const rb = recency.get(b.id);
  // Given one in this round: more recent than any stored time.
  if (ra !== undefined || rb !== undefined) return (ra ?? 0) - (rb ?? 0);
  const ta = a.lastAutoAssignedAt?.getTime() ?? -Infinity;
  const tb = b.lastAutoAssignedAt?.getTime() ?? -Infinity;
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.id - b.id;
}
