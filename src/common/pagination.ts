import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

export class PageQuery {
  /** Page number, from 1. */
  @ApiProperty({ required: false, default: 1, minimum: 1, example: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  page: number = 1;

  /** Items per page, at most 100. */
  @ApiProperty({ required: false, default: 20, minimum: 1, maximum: 100, example: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
}

/**
 * The Swagger-documented class of one page of `item`s (`{ items, total, page, limit }`), so every
 * paginated answer has the same documented shape.
 */
export function PageDtoOf<T>(item: new (...args: never[]) => T): new () => Page<T> {
  class PageDto implements Page<T> {
    @ApiProperty({ type: [item] })
    items: T[];

    @ApiProperty({ example: 1, description: 'items matching, on every page' })
    total: number;

    @ApiProperty({ example: 1 })
    page: number;

    @ApiProperty({ example: 20 })
    limit: number;
  }
  Object.defineProperty(PageDto, 'name', { value: `${item.name.replace(/(Response)?(Dto)?$/, '')}PageDto` });
  return PageDto;
}
