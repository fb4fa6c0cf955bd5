import { Body, Controller, HttpCode, Ip, Post } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { Public } from '../common/auth.decorators';
import { RateLimit } from '../common/rate-limit';
import { AuthService } from './auth.service';
import { LoginDto, LoginResponseDto } from './dto/login.dto';
import { ErrorResponseDto } from '../common/error.dto';
import { toOperatorResponse } from './dto/operator.dto';

/** `POST /auth/login`. */
@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Public()
  @RateLimit('login')
  @Post('login')
  @HttpCode(200)
  @ApiOperation({ summary: 'Log in: exchange email and password for a bearer token', security: [] })
  @ApiOkResponse({ type: LoginResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Missing or malformed fields' })
  @ApiUnauthorizedResponse({ type: ErrorResponseDto, description: 'Wrong credentials or deactivated operator' })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description:
      'Too many attempts from this address, or too many failures for this account from this address; see Retry-After',
  })
  async login(@Body() body: LoginDto, @Ip() ip: string): Promise<LoginResponseDto> {
    const r = await this.auth.login(body.email, body.password, ip);
    return {
      accessToken: r.accessToken,
      tokenType: 'Bearer',
      expiresIn: r.expiresIn,
      operator: toOperatorResponse(r.operator),
    };
  }
}
