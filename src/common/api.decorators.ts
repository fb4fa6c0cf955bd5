import { applyDecorators } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { Roles } from './auth.decorators';
import { ErrorResponseDto } from './error.dto';

/** A controller for operators: its Swagger tag, the bearer scheme and the documented 401. */
export const OperatorApi = (tag: string) =>
  applyDecorators(
    ApiTags(tag),
    ApiBearerAuth('operator'),
    ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'Missing, invalid or revoked token' }),
  );

/** A controller for admins only: as OperatorApi, plus `@Roles('admin')` and the documented 403. */
export const AdminApi = (tag: string) =>
  applyDecorators(
    OperatorApi(tag),
    ApiForbiddenResponse({ type: ErrorResponseDto, description: 'Admins only' }),
    Roles('admin'),
  );
