import { BadRequestException, PipeTransform } from '@nestjs/common';

/** A path id: a positive integer that fits PostgreSQL's `integer`; 400 otherwise. */
export class ParseIdPipe implements PipeTransform<string, number> {
  transform(value: string): number {
    if (!/^\d{1,10}$/.test(value) || Number(value) < 1 || Number(value) > 2_147_483_647) {
      throw new BadRequestException(`id must be a positive integer (got "${String(value).slice(0, 40)}")`);
    }
    return Number(value);
  }
}
