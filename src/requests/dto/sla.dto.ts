import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsISO8601, IsOptional, ValidateIf } from 'class-validator';

/** Body of `PATCH /requests/:id/sla`: new due dates (ISO 8601 with zone); null removes a target. */
export class UpdateSlaDto {
  @ApiPropertyOptional({
    example: '2025-11-25T16:00:00Z',
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'First-response due date; null = no first-response target.',
  })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsISO8601({ strict: true }, { message: 'firstResponseDueAt must be an ISO 8601 date-time or null' })
  firstResponseDueAt?: string | null;

  @ApiPropertyOptional({
    example: '2025-11-28T16:00:00Z',
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'Resolution due date; null = no resolution target.',
  })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsISO8601({ strict: true }, { message: 'resolutionDueAt must be an ISO 8601 date-time or null' })
  resolutionDueAt?: string | null;
}
