import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsOptional, Max, Min } from 'class-validator';

/** Body of `POST /requests/:id/merge`: the request this one's messages move into. */
export class MergeRequestDto {
  @ApiProperty({ example: 12, description: 'The open request that takes this one over' })
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  intoId: number;
}

/** Body of `POST /requests/:id/split`: the customer message the new request starts with. */
export class SplitRequestDto {
  @ApiProperty({ example: 40, description: "The id of a customer message of this request (a message's `id`)" })
  @IsInt()
  @Min(1)
  @Max(2_147_483_647)
  messageId: number;

  @ApiPropertyOptional({
    example: false,
    description: 'Move every later message of the conversation too (default: the one message only)',
  })
  @IsOptional()
  @IsBoolean()
  following?: boolean;
}
