import { canSeeRequest, requestScope } from './request-scope';

describe('request scope', () => {
  const admin = { role: 'admin' as const, groupIds: [1] };
  const ungrouped = { role: 'operator' as const, groupIds: [] };
  const billing = { role: 'operator' as const, groupIds: [2, 3] };

  it('lets admins and operators in no group see every request, grouped or not', () => {
    expect(requestScope(admin)).toBeNull();
    expect(requestScope(ungrouped)).toBeNull();
    for (const actor of [admin, ungrouped]) {
      expect(canSeeRequest(actor, null)).toBe(true);
      expect(canSeeRequest(actor, 1)).toBe(true);
      expect(canSeeRequest(actor, 7)).toBe(true);
    }
  });

  it("limits an operator in groups to those groups' requests: not others, not those in no group", () => {
    expect(requestScope(billing)).toEqual([2, 3]);
    expect(canSeeRequest(billing, 2)).toBe(true);
    expect(canSeeRequest(billing, 3)).toBe(true);
    expect(canSeeRequest(billing, 1)).toBe(false);
    expect(canSeeRequest(billing, null)).toBe(false);
  });
});
