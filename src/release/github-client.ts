/**
 * The GitHub REST clients. API calls go through Octokit with plugin-retry (5xx, resets) and
 * plugin-throttling (429, secondary rate limits, Retry-After). Uploads and downloads use a second
 * client without those plugins: the plugins replay a request with the same body, and a streamed
 * body can only be read once, so the transfer code retries itself and reopens the file each time.
 */
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { Octokit } from '@octokit/rest';
import { RemoteError, UserError } from '../errors.js';
import { Redactor } from '../exec/redact.js';

export interface GitHubOptions {
  /** https://api.github.com, https://HOST/api/v3 (GHES), https://HOST/api/v1 (Gitea/Forgejo). */
  apiUrl: string;
  token: string | undefined;
  userAgent: string;
  /** Rate-limit waits are announced here; never with the token. */
  log?: (line: string) => void;
  /** Retries per request for 5xx, resets and rate limits. */
  retries?: number;
  /** Longest Retry-After honoured before giving up, in seconds. */
  maxRetryAfterSeconds?: number;
}

export interface GitHubClients {
  api: Octokit;
  transfer: Octokit;
  redactor: Redactor;
}

const ApiOctokit = Octokit.plugin(retry, throttling);

export function createGitHubClients(options: GitHubOptions): GitHubClients {
  const baseUrl = options.apiUrl.replace(/\/+$/, '');
  const redactor = new Redactor([options.token ?? '']);
  const log = options.log ?? (() => undefined);
  const retries = options.retries ?? 4;
  const maxWait = options.maxRetryAfterSeconds ?? 900;
  const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  const common = {
    baseUrl,
    userAgent: options.userAgent,
    log: quiet,
    ...(options.token ? { auth: options.token } : {}),
  };
  const onLimit =
    (kind: string) =>
    (retryAfter: number, request: { method: string; url: string }, _octokit: unknown, retryCount: number) => {
      if (retryCount >= retries || retryAfter > maxWait) return false;
      log(`GitHub ${kind} on ${request.method} ${redactor.redact(request.url)}: waiting ${retryAfter} s`);
      return true;
    };
  const api = new ApiOctokit({
    ...common,
    retry: { retries },
    throttle: { onRateLimit: onLimit('rate limit'), onSecondaryRateLimit: onLimit('secondary rate limit') },
  });
  const transfer = new Octokit(common);
  return { api, transfer, redactor };
}

export function parseRepository(value: string | undefined, flag = '--repo'): { owner: string; repo: string } {
  const match = /^([\w.-]+)\/([\w.-]+)$/.exec(value ?? '');
  if (!match?.[1] || !match[2])
    throw new UserError(
      value
        ? `${flag} ${value}: expected OWNER/NAME`
        : `no repository: pass ${flag} OWNER/NAME or set release.repository`,
      { hint: `e.g. ${flag} acme/docker-arm` },
    );
  return { owner: match[1], repo: match[2] };
}

interface RequestErrorLike {
  status: number;
  message: string;
  response?: { data?: unknown; headers?: Record<string, string | undefined> };
  request?: { method?: string; url?: string };
}

export function isRequestError(error: unknown): error is RequestErrorLike {
  return error instanceof Error && typeof (error as { status?: unknown }).status === 'number';
}

/** GitHub's validation errors carry `errors: [{ code: 'already_exists' }]`. */
export function hasErrorCode(error: unknown, code: string): boolean {
  if (!isRequestError(error) || error.status !== 422) return false;
  const errors = (error.response?.data as { errors?: Array<{ code?: string }> } | undefined)?.errors;
  return Array.isArray(errors) && errors.some((e) => e.code === code);
}

/**
 * One line a person can act on, for any failed request. The token never appears: Octokit keeps
 * it out of its messages and the redactor removes it from whatever the server echoed.
 */
export function describeRequestError(
  error: unknown,
  context: { what: string; repository: string; redactor: Redactor },
): RemoteError {
  if (!isRequestError(error)) {
    const message = error instanceof Error ? error.message : String(error);
    return new RemoteError(context.redactor.redact(`${context.what}: ${message}`), { cause: error });
  }
  // Octokit appends " - <documentation_url>" to the server's message.
  const message = context.redactor.redact((error.message.split('\n')[0] ?? '').replace(/ - https?:\/\/\S+$/, ''));
  const where = `${context.what}: GitHub answered ${error.status}`;
  switch (error.status) {
    case 401:
      return new RemoteError(`${where} (${message})`, {
        hint: 'the token is wrong or expired; set GITHUB_TOKEN (or GH_TOKEN) to a token with contents: write',
      });
    case 403:
      return new RemoteError(`${where} (${message})`, {
        hint: `the token needs contents: write on ${context.repository} (fine-grained token or workflow permissions)`,
      });
    case 404:
      return new RemoteError(`${where}: ${context.repository} not found, or the token cannot see it`, {
        hint: 'check --repo and that the token has access to that repository',
      });
    case 500:
      // Octokit reports network failures as 500 without a response.
      if (!error.response)
        return new RemoteError(`${context.what}: ${message}`, { hint: 'check --api-url and the network' });
      break;
  }
  return new RemoteError(`${where} (${message})`);
}
