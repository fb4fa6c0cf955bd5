import { ApiProperty } from '@nestjs/swagger';

/** `GET /health/live`. */
export class LiveResponseDto {
  @ApiProperty({ example: 'ok' })
  status: 'ok';
}

/** `GET /health/ready` when ready. */
export class ReadyResponseDto {
  @ApiProperty({ example: 'ok' })
  status: 'ok';

  @ApiProperty({ example: 'up' })
  database: 'up';

  @ApiProperty({ example: 'applied', description: 'Every migration is applied.' })
  migrations: 'applied';
}
