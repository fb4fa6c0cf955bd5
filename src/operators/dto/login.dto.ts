import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { OperatorResponseDto } from './operator.dto';

/** Body of `POST /auth/login`. */
export class LoginDto {
  @ApiProperty({ example: 'admin@localhost' })
  @IsString()
  @MinLength(1)
  @MaxLength(320)
  email: string;

  @ApiProperty({ example: 'the-admin-password' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  password: string;
}

/** Answer of `POST /auth/login`. */
export class LoginResponseDto {
  @ApiProperty({
    example: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...',
    description: 'Send as `Authorization: Bearer <accessToken>`.',
  })
  accessToken: string;

  @ApiProperty({ example: 'Bearer' })
  tokenType: 'Bearer';

  @ApiProperty({ example: 43200, description: 'Seconds until the token expires.' })
  expiresIn: number;

  @ApiProperty({ type: OperatorResponseDto })
  operator: OperatorResponseDto;
}
