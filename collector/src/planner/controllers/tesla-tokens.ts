/**
 * Tesla's OAuth tokens for the Fleet API, one source per Tesla account,
 * shared by every car of that account: Tesla rotates the refresh token on
 * each use (`POST https://auth.tesla.com/oauth2/v3/token` with
 * `grant_type=refresh_token` answers a new one, and the used one is refused
 * from then on), so two refreshes from the same token would lock the second
 * out. One refresh is in flight at a time, and the new tokens are written to
 * the token file (mode 0600, written beside it and renamed over it, so a
 * crash leaves the old file or the new one, never half of one) before they
 * are used: a restart starts from the newest refresh token.
 *
 * One process owns the token file: two processes refreshing from it would
 * spend each other's refresh tokens.
 *
 * A refresh token Tesla refuses cannot be repaired here: the source answers
 * 'unauthorized' with what to do, and tries again only when the token file
 * holds a different refresh token (the owner signed in again).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type Dispatcher, getGlobalDispatcher } from 'undici';
import { z } from 'zod';
import type { ControlFailure } from '../controller.js';
import { send, serviceErrorText } from './service-call.js';

export interface TeslaTokenSourceOptions {
  /** Base of Tesla's auth server, https://auth.tesla.com; the path is /oauth2/v3/token. */
  authUrl: string;
  clientId: string;
  /** The refresh token from the settings; the token file's wins once it exists. */
  refreshToken: string | undefined;
  /** Where the rotated tokens are kept. */
  tokenFile: string;
  /** Default undici's global one. */
  dispatcher?: Dispatcher;
  /** Bounds one call to the token endpoint. Default 10 s. */
  timeoutMs?: number;
  now?: () => number;
}

export type TokenResult =
  | { ok: true; accessToken: string }
  | { ok: false; failure: ControlFailure; detail: string; retry: boolean };

export interface TeslaTokenSource {
  /** A live access token, refreshing it when it is about to expire. */
  accessToken(): Promise<TokenResult>;
  /** The service said 401 for this token: the next accessToken() refreshes. */
  rejected(accessToken: string): void;
  /** Calls made to the token endpoint so far. */
  refreshCalls(): number;
}

const storedSchema = z.object({
  refresh_token: z.string().min(1),
  access_token: z.string().min(1).optional(),
  /** ms since the epoch */
  expires_at_ms: z.number().optional(),
});

const tokenAnswerSchema = z.object({
  access_token: z.string().min(1),
  refresh_token: z.string().min(1),
  expires_in: z.number().positive(),
});

/** Refresh this long before the access token expires, so no call goes out with a dying token. */
const EXPIRY_MARGIN_MS = 5 * 60_000;

interface Held {
  refreshToken: string;
  accessToken: string | undefined;
  expiresAtMs: number;
}

async function readStored(file: string): Promise<Held | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const stored = storedSchema.parse(JSON.parse(text));
  return {
    refreshToken: stored.refresh_token,
    accessToken: stored.access_token,
    expiresAtMs: stored.expires_at_ms ?? 0,
  };
}

/** Writes the file whole or not at all, readable by its owner only. */
export async function writeFileAtomically(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const temporary = join(dirname(file), `.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export function createTeslaTokenSource(options: TeslaTokenSourceOptions): TeslaTokenSource {
  const now = options.now ?? Date.now;
  let held: Held | undefined;
  let loaded = false;
  /** The refresh token Tesla refused; not sent again. */
  let refused: string | undefined;
  let refusedDetail = '';
  let inFlight: Promise<TokenResult> | undefined;
  let calls = 0;

  async function load(): Promise<TokenResult | undefined> {
    try {
      const stored = await readStored(options.tokenFile);
      if (stored) held = stored;
    } catch (error) {
      return {
        ok: false,
        failure: 'unauthorized',
        detail: `cannot read the token file ${options.tokenFile}: ${(error as Error).message}`,
        retry: false,
      };
    }
    if (!held && options.refreshToken)
      held = { refreshToken: options.refreshToken, accessToken: undefined, expiresAtMs: 0 };
    loaded = true;
    return undefined;
  }

  async function refresh(): Promise<TokenResult> {
    if (!loaded || refused !== undefined) {
      const problem = await load();
      if (problem) return problem;
    }
    if (!held) {
      return {
        ok: false,
        failure: 'unauthorized',
        detail: 'no Tesla refresh token: set TESLA_REFRESH_TOKEN (or TESLA_REFRESH_TOKEN_FILE)',
        retry: false,
      };
    }
    if (held.refreshToken === refused) {
      return { ok: false, failure: 'unauthorized', detail: refusedDetail, retry: false };
    }
    if (held.accessToken && held.expiresAtMs - EXPIRY_MARGIN_MS > now()) {
      return { ok: true, accessToken: held.accessToken };
    }
    calls += 1;
    const used = held.refreshToken;
    const sent = await send(
      options.dispatcher ?? getGlobalDispatcher(),
      `${options.authUrl.replace(/\/$/, '')}/oauth2/v3/token`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          client_id: options.clientId,
          refresh_token: used,
        }).toString(),
        timeoutMs: options.timeoutMs ?? 10_000,
      },
    );
    if ('failure' in sent)
      return { ok: false, failure: sent.failure, detail: `token refresh: ${sent.detail}`, retry: true };
    const { status, text } = sent.answer;
    if (status === 400 || status === 401 || status === 403) {
      refused = used;
      refusedDetail =
        `Tesla refused the refresh token (HTTP ${status}: ${serviceErrorText(text)}); ` +
        `sign in to Tesla again and put the new refresh token in TESLA_REFRESH_TOKEN, or in ${options.tokenFile}`;
      return { ok: false, failure: 'unauthorized', detail: refusedDetail, retry: false };
    }
    if (status !== 200) {
      return {
        ok: false,
        failure: status === 429 ? 'rate_limited' : 'unreachable',
        detail: `token refresh: HTTP ${status}`,
        retry: true,
      };
    }
    let answer: z.infer<typeof tokenAnswerSchema>;
    try {
      answer = tokenAnswerSchema.parse(JSON.parse(text));
    } catch {
      return { ok: false, failure: 'bad_response', detail: 'token refresh: unreadable answer', retry: false };
    }
    const next: Held = {
      refreshToken: answer.refresh_token,
      accessToken: answer.access_token,
      expiresAtMs: now() + answer.expires_in * 1000,
    };
    try {
      await writeFileAtomically(
        options.tokenFile,
        `${JSON.stringify({ refresh_token: next.refreshToken, access_token: next.accessToken, expires_at_ms: next.expiresAtMs })}\n`,
      );
    } catch (error) {
      // The old refresh token is spent: keep the new one in memory, so this process goes on working.
      held = next;
      return {
        ok: false,
        failure: 'unauthorized',
        detail: `cannot save the rotated Tesla tokens to ${options.tokenFile}: ${(error as Error).message}`,
        retry: false,
      };
    }
    held = next;
    refused = undefined;
    return { ok: true, accessToken: next.accessToken ?? '' };
  }

  return {
    async accessToken() {
      if (held?.accessToken && held.refreshToken !== refused && held.expiresAtMs - EXPIRY_MARGIN_MS > now()) {
        return { ok: true, accessToken: held.accessToken };
      }
      inFlight ??= refresh().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
    refreshCalls: () => calls,
    rejected(accessToken) {
      if (held?.accessToken === accessToken) held.expiresAtMs = 0;
    },
  };
}
