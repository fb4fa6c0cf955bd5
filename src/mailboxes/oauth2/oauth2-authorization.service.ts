import { ConflictException, Inject, Injectable, Logger, NotFoundException } from '@nestjs/common';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import type { MailboxRecord } from '../mailbox';
import { userOf } from '../mail-url';
import { MailboxesRepository, type MailboxesStore } from '../mailboxes.repository';
import { SecretBoxService } from '../secret-box.service';
import { Oauth2Repository, type Oauth2Store } from './oauth2.repository';
import { authorizationUrl, providerEndpoints } from './oauth2-providers';
import { Oauth2TokenService, type Sealer } from './oauth2-token.service';
import { hashState, newPkce, newState } from './pkce';
import { exchangeCode } from './token-endpoint';

/** How long an authorization link (its state) stays usable. */
export const AUTHORIZATION_TTL_SECONDS = 10 * 60;
/** The token endpoint call of the callback gives up after this long. */
const EXCHANGE_TIMEOUT_MS = 15_000;
/** The longest `error` / `error_description` of a provider echoed on the page. */
const MAX_PROVIDER_TEXT = 300;

/** What the callback received (query parameters, unvalidated). */
export interface CallbackParams {
  code?: string;
  state?: string;
  error?: string;
  errorDescription?: string;
}

/** How the callback ended: the page to show and its status. */
export type CallbackOutcome =
  { ok: true; mailbox: MailboxRecord } | { ok: false; status: 400 | 502; title: string; text: string };

/**
 * The authorization-code flow with PKCE that connects an OAuth2 mailbox (Google, Microsoft 365,
 * a generic provider):
 *
 * 1. `start` (GET /mailboxes/:id/oauth2/authorize, an admin): a random `state` and PKCE verifier;
 *    the state's SHA-256 is stored with the admin, the mailbox, the sealed verifier and the
 *    redirect URI, usable once within 10 minutes; the answer is the provider's consent URL.
 * 2. `complete` (GET /oauth2/callback, public: the state is the proof): the state is taken (one
 *    use, expired or not), the code exchanged with the verifier and the client's secret, the
 *    refresh and access tokens stored sealed, and the mailbox made `active` again.
 */
@Injectable()
export class Oauth2AuthorizationService {
  private readonly logger = new Logger('Mailboxes');

  constructor(
    @Inject(MailboxesRepository) private readonly mailboxes: Pick<MailboxesStore, 'get'>,
    @Inject(Oauth2Repository) private readonly store: Oauth2Store,
    @Inject(SecretBoxService) private readonly box: Sealer,
    @Inject(APP_CONFIG) private readonly config: Pick<AppConfig, 'oauth2'>,
    private readonly tokens: Oauth2TokenService,
  ) {}

  /** The provider's consent URL for an admin authorizing a mailbox; 404 unknown, 409 not OAuth2 or disabled. */
  async start(mailboxId: number, operatorId: number): Promise<string> {
    const mailbox = await this.mailboxes.get(mailboxId);
    if (!mailbox) throw new NotFoundException(`mailbox ${mailboxId} does not exist`);
    if (!mailbox.oauth2 || !mailbox.oauth2ClientSecret) {
      throw new ConflictException(
        `mailbox ${mailboxId} does not use OAuth2 (set oauth2 with PATCH /mailboxes/${mailboxId})`,
      );
    }
    if (mailbox.state === 'disabled')
      throw new ConflictException(`mailbox ${mailboxId} is disabled: activate it first`);
    let endpoints;
    try {
      endpoints = providerEndpoints(mailbox.oauth2);
    } catch (e) {
      throw new ConflictException(`mailbox ${mailboxId}: ${(e as Error).message}`);
    }
    const state = newState();
    const pkce = newPkce();
    const redirectUri = this.config.oauth2.redirectUrl;
    await this.store.insertAuthorization(
      {
        stateHash: hashState(state),
        mailboxId,
        operatorId,
        verifierSecret: this.box.seal(pkce.verifier),
        redirectUri,
      },
      AUTHORIZATION_TTL_SECONDS,
    );
    return authorizationUrl(endpoints, {
      clientId: mailbox.oauth2.clientId,
      redirectUri,
      state,
      codeChallenge: pkce.challenge,
      loginHint: loginHint(mailbox),
    });
  }

  /** The provider sent the admin back: store the tokens, or say why not. Never throws for bad input. */
  async complete(params: CallbackParams): Promise<CallbackOutcome> {
    const state = params.state;
    if (!state || state.length > 512) return invalidLink();
    // Taken first, whatever else the request says: a state is good for one answer only.
    const pending = await this.store.takeAuthorization(hashState(state));
    if (!pending) return invalidLink();
    if (!pending.fresh) {
      return fail(
        400,
        'Link expired',
        'This authorization took longer than 10 minutes. Start again from GET /mailboxes/:id/oauth2/authorize.',
      );
    }
    if (params.error) {
      const what = [params.error, params.errorDescription].filter(Boolean).join(': ').slice(0, MAX_PROVIDER_TEXT);
      this.logger.warn(`mailbox ${pending.mailboxId}: the OAuth2 provider refused the authorization (${what})`);
      return fail(400, 'Not authorized', `The provider did not authorize the mailbox: ${what}`);
    }
    if (!params.code || params.code.length > 4096)
      return fail(400, 'Not authorized', 'The provider sent no authorization code.');
    const mailbox = await this.mailboxes.get(pending.mailboxId);
    if (!mailbox?.oauth2 || !mailbox.oauth2ClientSecret) {
      return fail(400, 'Mailbox changed', 'The mailbox no longer exists or no longer uses OAuth2.');
    }
    const result = await exchangeCode(
      providerEndpoints(mailbox.oauth2).tokenUrl,
      {
        code: params.code,
        redirectUri: pending.redirectUri,
        codeVerifier: this.box.open(pending.verifierSecret),
        clientId: mailbox.oauth2.clientId,
        clientSecret: this.box.open(mailbox.oauth2ClientSecret),
      },
      { timeoutMs: EXCHANGE_TIMEOUT_MS },
    );
    if (!result.ok) {
      this.logger.warn(`mailbox ${mailbox.id}: exchanging the OAuth2 authorization code failed (${result.message})`);
      return result.permanent
        ? fail(400, 'Not authorized', `The provider refused the authorization code: ${result.message}. Start again.`)
        : fail(
            502,
            'Provider unavailable',
            `The provider could not be reached: ${result.message}. Start again in a moment.`,
          );
    }
    if (!result.tokens.refreshToken) {
      return fail(
        400,
        'No refresh token',
        'The provider issued no refresh token, so MailDesk could not keep the mailbox connected. ' +
          'Remove MailDesk from the account’s connected apps (Google) or check the offline_access scope (Microsoft), then start again.',
      );
    }
    const { refreshToken, accessToken, expiresAt } = result.tokens;
    const updated = await this.store.transaction((m) =>
      this.store.authorized(m, mailbox.id, {
        refreshSecret: this.box.seal(refreshToken),
        accessSecret: this.box.seal(accessToken),
        accessExpiresAt: expiresAt,
      }),
    );
    if (!updated) return fail(400, 'Mailbox changed', 'The mailbox no longer exists.');
    this.tokens.forget(mailbox.id);
    this.logger.log(
      `mailbox ${mailbox.id} (${mailbox.address}) authorized with OAuth2 by operator ${pending.operatorId}`,
    );
    return { ok: true, mailbox: updated };
  }
}

/** The user of the mailbox's IMAP (else SMTP) URL: the account the admin should sign in with. */
function loginHint(mailbox: MailboxRecord): string | null {
  for (const url of [mailbox.imapUrl, mailbox.smtpUrl]) {
    const user = url ? userOf(url) : '';
    if (user) return user;
  }
  return mailbox.address;
}

function fail(status: 400 | 502, title: string, text: string): CallbackOutcome {
  return { ok: false, status, title, text };
}

function invalidLink(): CallbackOutcome {
  return fail(
    400,
    'Link not valid',
    'This authorization is unknown, expired or already used. Start again from GET /mailboxes/:id/oauth2/authorize.',
  );
}
