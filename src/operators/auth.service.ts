import { Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { AuthOperator } from '../common/auth.decorators';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { TooManyRequestsException } from '../common/too-many-requests.exception';
import { LoginAttempts } from './login-attempts';
import { Operator } from './operator.entity';
import { OperatorsService } from './operators.service';

/** Claims of an operator access token. */
export interface TokenClaims {
  /** Operator id, as a string (RFC 7519). */
  sub: string;
  /** The operator's token_version when the token was issued. */
  tv: number;
  role: Operator['role'];
}

/** A successful login. */
export interface LoginResult {
  accessToken: string;
  expiresIn: number;
  operator: Operator;
}

/** How many verified tokens AuthService remembers (the oldest is forgotten first). */
export const VERIFIED_TOKENS = 1_000;

/** Login and the access tokens: signed JWTs that stay valid only while the token version matches. */
@Injectable()
export class AuthService {
  /**
   * Tokens whose signature was checked, with their claims, until they expire: the HMAC and the
   * JSON decoding were 3% of a list call's CPU, the same work for the same string on every call.
   * Revocation is unaffected: the token version is read from the database on every call.
   */
  private readonly verified = new Map<string, { claims: TokenClaims; expiresAt: number }>();

  constructor(
    private readonly operators: OperatorsService,
    private readonly jwt: JwtService,
    private readonly attempts: LoginAttempts,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Checks the credentials and issues a token; 401 for wrong ones or a deactivated operator; 429
   * (whatever the password) while this client address has too many recent failures on the
   * account; slowed down while the account has many from any address (LoginAttempts).
   */
  async login(email: string, password: string, ip = 'unknown'): Promise<LoginResult> {
    const wait = this.attempts.blockedFor(email, ip);
    if (wait) throw new TooManyRequestsException('too many failed logins for this account; retry later', wait);
    const delay = this.attempts.delayFor(email);
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
    const operator = await this.operators.verifyLogin(email, password);
    if (!operator) {
      this.attempts.recordFailure(email, ip);
      throw new UnauthorizedException('invalid email or password');
    }
    this.attempts.reset(email, ip);
    const claims: TokenClaims = { sub: String(operator.id), tv: operator.tokenVersion, role: operator.role };
    const accessToken = await this.jwt.signAsync(claims);
    return { accessToken, expiresIn: this.config.auth.jwtTtlSeconds, operator };
  }

  /** The operator a bearer token stands for; 401 when it is invalid, expired, or revoked. */
  async authenticate(token: string): Promise<AuthOperator> {
    const claims = await this.verify(token);
    const id = Number(claims.sub);
    const operator =
      Number.isSafeInteger(id) && id > 0 && id <= 2_147_483_647 ? await this.operators.activeIdentity(id) : null;
    if (!operator || operator.tokenVersion !== claims.tv) throw new UnauthorizedException('token is no longer valid');
    return {
      id: operator.id,
      email: operator.email,
      name: operator.name,
      role: operator.role,
      groupIds: operator.groupIds,
    };
  }

  /** The claims of a validly signed, unexpired token (remembered until it expires); 401 otherwise. */
  private async verify(token: string): Promise<TokenClaims> {
    const known = this.verified.get(token);
    if (known && known.expiresAt > Date.now()) return known.claims;
    let claims: TokenClaims & { exp?: number };
    try {
      claims = await this.jwt.verifyAsync<TokenClaims & { exp?: number }>(token, { algorithms: ['HS256'] });
    } catch {
      this.verified.delete(token);
      throw new UnauthorizedException('invalid or expired token');
    }
    if (claims.exp) {
      if (this.verified.size >= VERIFIED_TOKENS) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, { claims, expiresAt: claims.exp * 1000 });
    }
    return claims;
  }
}
