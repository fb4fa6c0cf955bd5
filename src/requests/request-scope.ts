import type { AuthOperator } from '../common/auth.decorators';

/** Who asks, as far as which requests they may see: their role and their groups (AuthOperator). */
export type RequestActor = Pick<AuthOperator, 'role' | 'groupIds'>;

/**
 * The groups whose requests an actor sees, or null for every request: admins, and operators in
 * no group (as before groups existed, so a deployment that never made a group is unchanged).
 * Requests in no group (group_id NULL) are therefore seen only by those two.
 */
export function requestScope(actor: RequestActor): readonly number[] | null {
  return actor.role === 'admin' || actor.groupIds.length === 0 ? null : actor.groupIds;
}

/**
 * Whether the actor may see and work a request of group `groupId` (null: in no group). A request
 * they may not see answers exactly as a missing one (404), so its id leaks nothing.
 */
export function canSeeRequest(actor: RequestActor, groupId: number | null): boolean {
  const scope = requestScope(actor);
  return scope === null || (groupId !== null && scope.includes(groupId));
}
