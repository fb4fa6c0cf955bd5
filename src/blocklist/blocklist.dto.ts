import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { BlockedPattern } from './blocklist.service';

/** Body of `POST /blocklist`. */
export class CreateBlockedPatternDto {
  @ApiProperty({
    example: '@spam.example',
    description:
      'An address (`spam@example.com`), a domain (`@spam.example`) or a domain with its subdomains (`*.spam.example`). Case-insensitive.',
    maxLength: 320,
  })
  @IsString()
  @MinLength(3)
  @MaxLength(320)
  pattern: string;

  @ApiPropertyOptional({ example: 'Sends advertising every hour', maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  reason?: string;
}

/** One blocked sender pattern. */
export class BlockedPatternDto {
  @ApiProperty({ example: 3 })
  id: number;

  @ApiProperty({ example: '@spam.example' })
  pattern: string;

  @ApiProperty({
    enum: ['address', 'domain', 'subdomains'],
    example: 'domain',
    description: '`subdomains`: the domain and every subdomain.',
  })
  kind: string;

  @ApiProperty({ example: 'Sends advertising every hour', nullable: true, type: String })
  reason: string | null;

  @ApiProperty({ example: 1, nullable: true, type: Number, description: 'The admin who added it.' })
  createdBy: number | null;

  @ApiProperty({ example: '2025-11-25T10:02:11.000Z', format: 'date-time' })
  createdAt: string;
}

/** `GET /blocklist`. */
export class BlockedPatternListDto {
  @ApiProperty({ type: [BlockedPatternDto] })
  items: BlockedPatternDto[];
}

/** Maps a pattern to its response. */
export function toBlockedPatternResponse(b: BlockedPattern): BlockedPatternDto {
  return { ...b, createdAt: b.createdAt.toISOString() };
}
