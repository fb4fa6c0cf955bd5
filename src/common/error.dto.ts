import { ApiProperty } from '@nestjs/swagger';

/** The one error shape of the API, for Swagger (see common/http-exception.filter.ts). */
export class ErrorResponseDto {
  @ApiProperty({ example: 400 })
  statusCode: number;

  @ApiProperty({ example: 'Bad Request' })
  error: string;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: ['email must be an email'],
    description: 'What went wrong: one sentence, or one per invalid field.',
  })
  message: string | string[];

  @ApiProperty({
    required: false,
    example: '6f1c2a4e-8d0b-4a57-9f43-2b7e5d0c9a11',
    description: 'The request id (the X-Request-Id sent, else generated; also in the response header and the logs).',
  })
  requestId?: string;
}
