import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Matches, MaxLength, MinLength, ValidateIf } from 'class-validator';
import { LOCALE_MAX_LENGTH, LOCALE_SHAPE } from '../common/locale';
import { PageQuery, PageDtoOf } from '../common/pagination';
import type { CustomerRequest, CustomerSummary } from './customers.repository';

/** Query of `GET /customers`. */
export class ListCustomersQuery extends PageQuery {
  @ApiPropertyOptional({
    description: 'Part of the address or name (case-insensitive; % and _ are literal).',
    example: 'jane',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(320)
  q?: string;
}

/** Body of `PATCH /customers/:id`. */
export class UpdateCustomerDto {
  @ApiPropertyOptional({
    example: 'Jane Doe',
    nullable: true,
    type: String,
    maxLength: 200,
    description: 'null clears it.',
  })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsString()
  @MaxLength(200)
  name?: string | null;

  @ApiPropertyOptional({ example: true, description: 'A blocked customer opens no request and gets no auto-reply.' })
  @IsOptional()
  @IsBoolean()
  blocked?: boolean;

  @ApiPropertyOptional({
    example: 'ru',
    nullable: true,
    type: String,
    maxLength: LOCALE_MAX_LENGTH,
    pattern: LOCALE_SHAPE.source,
    description:
      "The customer's language (BCP 47 tag, any case; stored canonical): auto-replies are written in it " +
      '(`en` and `ru` ship; others fall back to their language, then to `en`). null clears it.',
  })
  @IsOptional()
  @ValidateIf((_o, v) => v !== null)
  @IsString()
  @MaxLength(LOCALE_MAX_LENGTH)
  @Matches(LOCALE_SHAPE, { message: 'locale must be a language tag such as en, ru or pt-BR' })
  locale?: string | null;
}

/** A customer. */
export class CustomerDto {
  @ApiProperty({ example: 7 })
  id: number;

  @ApiProperty({ example: 'jane@example.com' })
  email: string;

  @ApiProperty({ example: 'Jane Doe', nullable: true, type: String })
  name: string | null;

  @ApiProperty({ example: false })
  blocked: boolean;

  @ApiProperty({
    example: 'ru',
    nullable: true,
    type: String,
    description:
      "The customer's language (BCP 47), from their first mail's Content-Language or Accept-Language or set " +
      'by an admin; auto-replies are written in it. null: unknown (English).',
  })
  locale: string | null;

  @ApiProperty({ example: '2025-11-25T10:00:00.000Z', format: 'date-time' })
  createdAt: string;

  @ApiProperty({ example: 3, description: 'Requests of this customer, any status.' })
  requestCount: number;
}

/** `GET /customers`. */
export class CustomerPageDto extends PageDtoOf(CustomerDto) {}

/** One request of a customer. */
export class CustomerRequestDto {
  @ApiProperty({ example: 42 })
  id: number;

  @ApiProperty({ enum: ['new', 'in_progress', 'closed'], example: 'in_progress' })
  status: string;

  @ApiProperty({ example: 'Printer on floor 3 is jammed' })
  subject: string;

  @ApiProperty({ example: '2025-11-25T10:00:00.000Z', format: 'date-time' })
  createdAt: string;

  @ApiProperty({
    example: 2,
    nullable: true,
    type: Number,
    description: 'The group (queue) of the request; null: none.',
  })
  groupId: number | null;
}

/** `GET /customers/:id`: the customer and their requests, newest first. */
export class CustomerDetailDto extends CustomerDto {
  @ApiProperty({ type: [CustomerRequestDto] })
  requests: CustomerRequestDto[];
}

/** Maps a customer to its response. */
export function toCustomerResponse(c: CustomerSummary): CustomerDto {
  return {
    id: c.id,
    email: c.email,
    name: c.name,
    blocked: c.blocked,
    locale: c.locale,
    createdAt: c.createdAt.toISOString(),
    requestCount: c.requestCount,
  };
}

/** Maps a customer with requests to its response. */
export function toCustomerDetail(c: CustomerSummary & { requests: CustomerRequest[] }): CustomerDetailDto {
  return {
    ...toCustomerResponse(c),
    requests: c.requests.map((r) => ({ ...r, createdAt: r.createdAt.toISOString() })),
  };
}

/** Body of `DELETE /customers/:id`: the customer's address again, so that no id typo erases someone. */
export class EraseCustomerDto {
  @ApiProperty({
    example: 'jane@example.com',
    maxLength: 320,
    description: "The customer's email address (any case): anything else answers 400 and erases nothing.",
  })
  @IsString()
  @MinLength(1)
  @MaxLength(320)
  confirm: string;
}
