import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { type AssignmentSettings, type Group, GroupsRepository, type GroupsStore } from './groups.repository';

export type { AssignmentSettings, Group } from './groups.repository';

/** What `update` may change (absent: kept). */
export interface GroupChanges extends AssignmentSettings {
  name?: string;
}

/**
 * The groups (queues) operators work in. Names are unique regardless of case. A mailbox routes
 * its new requests to its group; an operator in groups sees only those groups' requests
 * (requests/request-scope.ts); which operators are in which group is set on the operator
 * (`PATCH /operators/:id { groupIds }`).
 */
@Injectable()
export class GroupsService {
  private readonly assignmentListeners: Array<() => void> = [];

  constructor(@Inject(GroupsRepository) private readonly groups: GroupsStore) {}

  /**
   * Called after a group's automatic assignment changed on this instance: the assigner
   * (requests/auto-assignment.service.ts, which depends on this module, not the other way round)
   * looks at once instead of at its next sweep.
   */
  onAssignmentChange(listener: () => void): void {
    this.assignmentListeners.push(listener);
  }

  /** Every group, by name. */
  list(): Promise<Group[]> {
    return this.groups.list();
  }

  /** A new group; 409 when a group has this name in any case. */
  async create(name: string): Promise<Group> {
    const created = await this.groups.insert(name);
    if (!created) throw new ConflictException(`a group named "${name}" exists`);
    return created;
  }

  /** Renames a group; 404 when unknown, 409 when another group has this name in any case. */
  async rename(id: number, name: string): Promise<Group> {
    const renamed = await this.groups.rename(id, name);
    if (renamed) return renamed;
    if (!(await this.groups.findById(id))) throw new NotFoundException(`group ${id} does not exist`);
    throw new ConflictException(`a group named "${name}" exists`);
  }

  /**
   * Renames a group and/or changes its automatic assignment (docs/assignment.md); 400 when nothing
   * is to change, 404 when unknown, 409 when another group has the name in any case (then nothing
   * changes).
   */
  async update(id: number, changes: GroupChanges): Promise<Group> {
    const settings = changes.assignment !== undefined || changes.reassignWhenUnavailable !== undefined;
    if (changes.name === undefined && !settings) {
      throw new BadRequestException('nothing to change: give name, assignment or reassignWhenUnavailable');
    }
    let group = changes.name !== undefined ? await this.rename(id, changes.name) : null;
    if (settings) {
      group = await this.groups.setAssignment(id, changes);
      if (!group) throw new NotFoundException(`group ${id} does not exist`);
      for (const listener of this.assignmentListeners) listener();
    }
    return group!;
  }

  /**
   * Deletes a group nothing routes to: its operators leave it. 409 while a mailbox routes to it or
   * a request is in it (deleting it would hand its requests to no group: rename it instead);
   * 404 when unknown.
   */
  async remove(id: number): Promise<void> {
    if (await this.groups.deleteUnused(id)) return;
    if (!(await this.groups.findById(id))) throw new NotFoundException(`group ${id} does not exist`);
    throw new ConflictException(`group ${id} is in use by a mailbox or a request: it cannot be deleted`);
  }
}
