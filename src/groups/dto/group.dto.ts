import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, Matches, MaxLength, MinLength } from 'class-validator';
import type { Group } from '../groups.repository';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

/** Body of `POST /groups` and `PATCH /groups/:id`. */
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

/** A group (queue) as the API shows it. */
export class GroupResponseDto {
  @ApiProperty({ example: 2 })
  id: number;

  @ApiProperty({ example: 'Billing' })
  name: string;
}

/** `GET /groups`. */
export class GroupListDto {
  @ApiProperty({ type: [GroupResponseDto] })
  items: GroupResponseDto[];
}

/** Maps a group to its response. */
export function toGroupResponse(g: Group): GroupResponseDto {
  return { id: g.id, name: g.name };
}
