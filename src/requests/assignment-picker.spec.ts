import { type AssignmentCandidate, effectiveCapacity, pickOperators } from './assignment-picker';

const op = (id: number, load = 0, capacity: number | null = null, last: string | null = null): AssignmentCandidate => ({
  id,
  name: `op${id}`,
  load,
  capacity,
  lastAutoAssignedAt: last ? new Date(last) : null,
});
const ids = (picks: AssignmentCandidate[]) => picks.map((p) => p.id);

describe('automatic assignment: picking an operator', () => {
  it('reads capacity: their own over OPERATOR_MAX_OPEN, null for the global, 0 (either) unlimited', () => {
    expect(effectiveCapacity(3, 10)).toBe(3);
    expect(effectiveCapacity(null, 10)).toBe(10);
    expect(effectiveCapacity(undefined, 10)).toBe(10);
    expect(effectiveCapacity(0, 10)).toBeNull();
    expect(effectiveCapacity(null, 0)).toBeNull();
  });

  describe('round robin', () => {
    it('takes the next operator after the pointer by id, wrapping, whatever their loads', () => {
      const team = [op(7, 5), op(2), op(4, 1)];
      expect(ids(pickOperators('round_robin', team, null, 5, 0))).toEqual([2, 4, 7, 2, 4]);
      expect(ids(pickOperators('round_robin', team, 4, 3, 0))).toEqual([7, 2, 4]);
      // The pointer's operator left the group: the next id after it still decides.
      expect(ids(pickOperators('round_robin', team, 5, 2, 0))).toEqual([7, 2]);
      expect(ids(pickOperators('round_robin', team, 99, 1, 0))).toEqual([2]);
    });

    it('skips whoever is full, and stops when everyone is', () => {
      const team = [op(1, 2, 2), op(2, 0, 1), op(3, 0)];
      expect(ids(pickOperators('round_robin', team, null, 5, 2))).toEqual([2, 3, 3]);
    });

    it('is fair: counts differ by at most one when capacity allows', () => {
      const picks = pickOperators('round_robin', [op(1), op(2), op(3)], 2, 10, 0);
      const counts = [1, 2, 3].map((id) => picks.filter((p) => p.id === id).length);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      expect(ids(picks).slice(0, 3)).toEqual([3, 1, 2]);
    });
  });

  describe('least loaded', () => {
    it('gives to the fewest in progress, the load growing as it gives', () => {
      expect(ids(pickOperators('least_loaded', [op(1, 3), op(2, 1), op(3, 0)], null, 6, 0))).toEqual([
        3, 2, 3, 2, 3, 1,
      ]);
    });

    it('breaks ties by the longest since the last automatic assignment (never first), then by id', () => {
      const team = [
        op(1, 0, null, '2026-12-07T10:00:00Z'),
        op(2, 0, null, '2026-12-07T09:00:00Z'),
        op(3, 0, null, null),
        op(4, 0, null, null),
      ];
      expect(ids(pickOperators('least_loaded', team, null, 6, 0))).toEqual([3, 4, 2, 1, 3, 4]);
    });

    it('respects capacities and gives nothing when everyone is full', () => {
      expect(ids(pickOperators('least_loaded', [op(1, 0, 1), op(2, 0, 2)], null, 5, 0))).toEqual([1, 2, 2]);
      expect(pickOperators('least_loaded', [op(1, 2)], null, 3, 2)).toEqual([]);
      expect(pickOperators('least_loaded', [], null, 3, 0)).toEqual([]);
    });
  });
});
