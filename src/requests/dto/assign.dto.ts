import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** Body of `POST /requests/:id/assign`: empty to take it yourself. */
export class AssignRequestDto {
  @ApiPropertyOptional({
    example: 3,
    description: 'Assignee; defaults to the caller. Only admins may name someone else.',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  operatorId?: number;
}
