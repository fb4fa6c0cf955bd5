import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsString, Matches, MaxLength, MinLength, ValidateIf } from 'class-validator';
import { ASSIGNMENT_MODES, type AssignmentMode } from '../../config/config-variables';
import type { Group } from '../groups.repository';

const ASSIGNMENT_DESCRIPTION =
  "How the group's new requests find an operator among its members who are available and under their " +
  "capacity: 'off' (they wait in the queue), 'round_robin' (in turn, by operator id), 'least_loaded' " +
  '(fewest requests in progress; ties: longest since their last automatic assignment). See docs/assignment.md.';
const REASSIGN_DESCRIPTION =
  'When an operator of the group becomes unavailable, their requests in progress in this group go back to ' +
  "the pool (status new), to be assigned again by the group's mode.";

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

/** Body of `POST /groups`. */
export class GroupNameDto {
  @ApiProperty({
    example: 'Billing',
    minLength: 1,
    maxLength: 200,
    description: 'Unique regardless of case; spaces around it are dropped; no control characters.',
  })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  // eslint-disable-next-line no-control-regex
  @Matches(/^[^\u0000-\u001f\u007f]*$/, { message: 'name must not contain control characters' })
  name: string;
}

/** Body of `PATCH /groups/:id`: its name and/or its automatic assignment (at least one field). */
export class UpdateGroupDto {
  @ApiPropertyOptional({
    example: 'Billing',
    minLength: 1,
    maxLength: 200,
    description: 'Unique regardless of case; spaces around it are dropped; no control characters.',
  })
  @ValidateIf((_, v) => v !== undefined) // null is refused, not a no-op
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  // eslint-disable-next-line no-control-regex
  @Matches(/^[^\u0000-\u001f\u007f]*$/, { message: 'name must not contain control characters' })
  name?: string;

  @ApiPropertyOptional({ enum: ASSIGNMENT_MODES, example: 'round_robin', description: ASSIGNMENT_DESCRIPTION })
  @ValidateIf((_, v) => v !== undefined) // null is refused, not a no-op
  @IsIn(ASSIGNMENT_MODES)
  assignment?: AssignmentMode;

  @ApiPropertyOptional({ example: true, description: REASSIGN_DESCRIPTION })
  @ValidateIf((_, v) => v !== undefined) // null is refused, not a no-op
  @IsBoolean()
  reassignWhenUnavailable?: boolean;
}

/** A group (queue) as the API shows it. */
export class GroupResponseDto {
  @ApiProperty({ example: 2 })
  id: number;

  @ApiProperty({ example: 'Billing' })
  name: string;

  @ApiProperty({ enum: ASSIGNMENT_MODES, example: 'off', description: ASSIGNMENT_DESCRIPTION })
  assignment: AssignmentMode;

  @ApiProperty({ example: false, description: REASSIGN_DESCRIPTION })
  reassignWhenUnavailable: boolean;
}

/** `GET /groups`. */
export class GroupListDto {
  @ApiProperty({ type: [GroupResponseDto] })
  items: GroupResponseDto[];
}

/** Maps a group to its response. */
export function toGroupResponse(g: Group): GroupResponseDto {
  return { id: g.id, name: g.name, assignment: g.assignment, reassignWhenUnavailable: g.reassignWhenUnavailable };
}
