import type { ClosedCohortRow, CreatedCohortRow, ReportsStore } from './reports.repository';
import { reportGroups, ReportsService } from './reports.service';

const createdTotal: CreatedCohortRow = {
  total: true,
  operatorId: null,
  created: 0,
  byStatus: { new: 0, in_progress: 0, closed: 0 },
  byPriority: { low: 0, normal: 0, high: 0, urgent: 0 },
  firstResponses: 0,
  firstResponseMedian: null,
  firstResponseAverage: null,
  overdue: 0,
};
const closedTotal: ClosedCohortRow = {
  total: true,
  operatorId: null,
  closed: 0,
  resolutionMedian: null,
  resolutionAverage: null,
  rated: 0,
  ratingAverage: null,
};

/** The cohorts as the repository reads them, given; the operators table in memory. */
class MemoryReports implements ReportsStore {
  created: CreatedCohortRow[] = [createdTotal];
  closed: ClosedCohortRow[] = [closedTotal];
  operators = new Map<number, string>();
  namesAsked: number[][] = [];
  /** The groups each cohort was asked for (undefined: every request). */
  groupsAsked: Array<readonly number[] | undefined> = [];
  /** The priority each cohort was asked for (undefined: every priority). */
  prioritiesAsked: Array<string | undefined> = [];
  createdCohort(_from: Date, _to: Date, groups?: readonly number[], priority?: string): Promise<CreatedCohortRow[]> {
    this.groupsAsked.push(groups);
    this.prioritiesAsked.push(priority);
    return Promise.resolve(this.created);
  }
  closedCohort(_from: Date, _to: Date, groups?: readonly number[], priority?: string): Promise<ClosedCohortRow[]> {
    this.groupsAsked.push(groups);
    this.prioritiesAsked.push(priority);
    return Promise.resolve(this.closed);
  }
  operatorNames(ids: number[]): Promise<Array<{ id: number; name: string }>> {
    this.namesAsked.push(ids);
    const known = ids.filter((i) => this.operators.has(i)).sort((a, b) => a - b);
    return Promise.resolve(known.map((i) => ({ id: i, name: this.operators.get(i)! })));
  }
}

/** Sees every request. */
const ADMIN = { role: 'admin' as const, groupIds: [] };

const from = new Date('2026-11-01T00:00:00Z');
const to = new Date('2026-12-01T00:00:00Z');

describe('ReportsService rules', () => {
  let store: MemoryReports;
  let service: ReportsService;
  beforeEach(() => {
    store = new MemoryReports();
    service = new ReportsService(store);
  });

  it('reports an empty period: no share of nothing, no durations, no operators to look up', async () => {
    const summary = await service.summary(from, to, 'Europe/Berlin', ADMIN);
    expect(summary.period).toEqual({ from: from.toISOString(), to: to.toISOString(), timeZone: 'Europe/Berlin' });
    expect(summary.overdue.share).toBe(0);
    expect([
      summary.firstResponse.medianSeconds,
      summary.resolution.averageSeconds,
      summary.satisfaction.average,
    ]).toEqual([null, null, null]);
    expect(summary.operators).toEqual([]);
    expect(store.namesAsked).toEqual([]);
  });

  it('rounds durations to 3 decimals, the mean rating to 2 and the overdue share to 4', async () => {
    store.created = [
      {
        ...createdTotal,
        created: 3,
        byStatus: { new: 1, in_progress: 1, closed: 1 },
        firstResponses: 2,
        firstResponseMedian: 90.12345,
        firstResponseAverage: 100.0006,
        overdue: 1,
      },
    ];
    store.closed = [
      {
        ...closedTotal,
        closed: 3,
        resolutionMedian: 7200.4444,
        resolutionAverage: 7260.5,
        rated: 3,
        ratingAverage: 13 / 3,
      },
    ];
    const summary = await service.summary(from, to, 'UTC', ADMIN);
    expect(summary.firstResponse).toEqual({ count: 2, medianSeconds: 90.123, averageSeconds: 100.001 });
    expect(summary.resolution).toEqual({ count: 3, medianSeconds: 7200.444, averageSeconds: 7260.5 });
    expect(summary.overdue).toEqual({ count: 1, share: 0.3333 });
    expect(summary.satisfaction).toEqual({ count: 3, average: 4.33 });
  });

  it('passes the priority filter to both cohorts and answers the counts by priority', async () => {
    store.created = [{ ...createdTotal, created: 3, byPriority: { low: 0, normal: 1, high: 0, urgent: 2 } }];
    const summary = await service.summary(from, to, 'UTC', ADMIN, undefined, 'urgent');
    expect(store.prioritiesAsked).toEqual(['urgent', 'urgent']);
    expect(summary.requests.byPriority).toEqual({ low: 0, normal: 1, high: 0, urgent: 2 });
  });

  it('lists the operators of either cohort by id, unassigned requests and unknown operators left out', async () => {
    store.operators.set(2, 'Ada').set(5, 'Grace');
    store.created = [
      { ...createdTotal, created: 6 },
      { ...createdTotal, total: false, operatorId: null, created: 2 },
      { ...createdTotal, total: false, operatorId: 5, created: 3 },
      { ...createdTotal, total: false, operatorId: 9, created: 1 },
    ];
    store.closed = [
      { ...closedTotal, closed: 4 },
      { ...closedTotal, total: false, operatorId: 2, closed: 4, resolutionMedian: 60.00049 },
    ];
    const summary = await service.summary(from, to, 'UTC', ADMIN);
    expect(store.namesAsked).toEqual([[5, 9, 2]]);
    expect(summary.operators).toEqual([
      { operatorId: 2, name: 'Ada', assigned: 0, closed: 4, medianResolutionSeconds: 60 },
      { operatorId: 5, name: 'Grace', assigned: 3, closed: 0, medianResolutionSeconds: null },
    ]);
  });

  describe('by group, and the scope of an operator in groups', () => {
    const billing = { role: 'operator' as const, groupIds: [2, 3] };
    it('counts every request for admins and operators in no group, one group when asked', () => {
      expect(reportGroups(ADMIN)).toBeUndefined();
      expect(reportGroups({ role: 'operator', groupIds: [] })).toBeUndefined();
      expect(reportGroups(ADMIN, 5)).toEqual([5]);
    });

    it("counts an operator in groups only their groups' requests, and nothing of another group", () => {
      expect(reportGroups(billing)).toEqual([2, 3]);
      expect(reportGroups(billing, 3)).toEqual([3]);
      expect(reportGroups(billing, 1)).toEqual([]);
    });

    it('reads both cohorts for those groups', async () => {
      await service.summary(from, to, 'UTC', billing, 2);
      expect(store.groupsAsked).toEqual([[2], [2]]);
    });
  });
});
