/**
 * A local stand-in for GitHub's releases API: an API host and an uploads host on loopback, with
 * the behaviour the publisher depends on (drafts are invisible by tag, a name can be uploaded
 * once, an interrupted upload leaves a "starter" asset, published immutable releases are
 * frozen, pagination by Link header, rate-limit headers). Every request and response is checked
 * against GitHub's OpenAPI description; `violations` must stay empty. Faults are injected on
 * demand, per operation.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OpenApiChecker, type Operation } from './openapi.js';

const PATHS = [
  '/repos/{owner}/{repo}/releases',
  '/repos/{owner}/{repo}/releases/{release_id}',
  '/repos/{owner}/{repo}/releases/tags/{tag}',
  '/repos/{owner}/{repo}/releases/{release_id}/assets',
  '/repos/{owner}/{repo}/releases/assets/{asset_id}',
];

let sharedChecker: OpenApiChecker | undefined;

export type Fault =
  | { kind: 'status'; status: 500 | 502 | 503 }
  /** 403 with GitHub's secondary-rate-limit message and Retry-After. */
  | { kind: 'secondary-rate-limit'; retryAfter: number }
  /** 429 with Retry-After and x-ratelimit-remaining 0. */
  | { kind: 'rate-limit'; retryAfter: number }
  /** The connection is cut after this many body bytes; an upload leaves a starter asset. */
  | { kind: 'reset'; afterBytes: number }
  /** 422 already_exists: for an upload, as if a concurrent job had uploaded the same bytes first. */
  | { kind: 'already-exists' };

interface InjectedFault {
  operation: string;
  fault: Fault;
  remaining: number;
  when: ((request: { params: Record<string, string>; query: URLSearchParams }) => boolean) | undefined;
}

export interface FakeAsset {
  id: number;
  name: string;
  label: string | null;
  contentType: string;
  data: Buffer;
  state: 'uploaded' | 'open';
  createdAt: string;
  updatedAt: string;
}

export interface FakeRelease {
  id: number;
  tag: string;
  name: string | null;
  body: string | null;
  draft: boolean;
  prerelease: boolean;
  immutable: boolean;
  targetCommitish: string;
  createdAt: string;
  publishedAt: string | null;
  assets: FakeAsset[];
}

export interface LoggedRequest {
  method: string;
  path: string;
  operation: string | null;
  status: number;
  fault: Fault['kind'] | null;
  host: 'api' | 'uploads';
}

export interface FakeGitHubOptions {
  owner?: string;
  repo?: string;
  token?: string;
  /** '' like api.github.com, or '/api/v3' like GitHub Enterprise Server. */
  apiPrefix?: string;
  uploadsPrefix?: string;
  /** GitHub gives each asset's `sha256:` digest; older servers (and GHES before 3.18) don't. */
  digests?: boolean;
  /** The repository's "immutable releases" setting. */
  immutableReleases?: boolean;
  pageSize?: number;
  /** Gitea and Forgejo give upload_url without GitHub's `{?name,label}` template. */
  uploadUrlTemplate?: boolean;
  /** Where both hosts listen (and what their URLs name): loopback, or a test board's gateway address. */
  listenHost?: string;
}

export class FakeGitHub {
  readonly owner: string;
  readonly repo: string;
  readonly releases: FakeRelease[] = [];
  readonly requests: LoggedRequest[] = [];
  readonly violations: string[] = [];
  readonly events = new EventEmitter();
  digests: boolean;
  immutableReleases: boolean;
  /** The release GitHub shows as "Latest". */
  latestId: number | null = null;
  private readonly token: string | undefined;
  private readonly apiPrefix: string;
  private readonly uploadsPrefix: string;
  private readonly pageSize: number;
  private readonly listenHost: string;
  private readonly uploadUrlTemplate: boolean;
  private readonly checker: OpenApiChecker;
  private readonly faults: InjectedFault[] = [];
  private nextId = 1000;
  private api: Server | undefined;
  private uploads: Server | undefined;
  apiUrl = '';
  uploadsUrl = '';

  constructor(options: FakeGitHubOptions = {}) {
    this.owner = options.owner ?? 'acme';
    this.repo = options.repo ?? 'docker-arm';
    this.token = options.token;
    this.apiPrefix = options.apiPrefix ?? '';
    this.uploadsPrefix = options.uploadsPrefix ?? '';
    this.digests = options.digests ?? true;
    this.immutableReleases = options.immutableReleases ?? false;
    this.pageSize = options.pageSize ?? 30;
    this.uploadUrlTemplate = options.uploadUrlTemplate ?? true;
    this.listenHost = options.listenHost ?? '127.0.0.1';
    sharedChecker ??= new OpenApiChecker(PATHS);
    this.checker = sharedChecker;
  }

  async start(): Promise<this> {
    this.api = createServer((request, response) => void this.handle('api', request, response));
    this.uploads = createServer((request, response) => void this.handle('uploads', request, response));
    const listen = (server: Server) =>
      new Promise<number>((resolve) =>
        server.listen(0, this.listenHost, () => {
          resolve((server.address() as AddressInfo).port);
        }),
      );
    this.apiUrl = `http://${this.listenHost}:${await listen(this.api)}${this.apiPrefix}`;
    this.uploadsUrl = `http://${this.listenHost}:${await listen(this.uploads)}${this.uploadsPrefix}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const server of [this.api, this.uploads]) {
      if (!server) continue;
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    }
  }

  /** Fault `times` requests of `operation` (an OpenAPI operationId such as repos/upload-release-asset). */
  inject(operation: string, fault: Fault, options: { times?: number; when?: InjectedFault['when'] } = {}): void {
    this.faults.push({ operation, fault, remaining: options.times ?? 1, when: options.when });
  }

  /** A release that exists before the test, e.g. an older version for the "latest" rules. */
  seedRelease(init: Partial<Omit<FakeRelease, 'id' | 'assets'>> & { tag: string; assets?: Record<string, Buffer> }) {
    const now = timestamp();
    const release: FakeRelease = {
      id: this.nextId++,
      tag: init.tag,
      name: init.name ?? init.tag,
      body: init.body ?? null,
      draft: init.draft ?? false,
      prerelease: init.prerelease ?? false,
      immutable: init.immutable ?? false,
      targetCommitish: init.targetCommitish ?? 'main',
      createdAt: init.createdAt ?? now,
      publishedAt: init.draft ? null : (init.publishedAt ?? now),
      assets: [],
    };
    for (const [name, data] of Object.entries(init.assets ?? {}))
      release.assets.push(this.newAsset(name, data, 'uploaded'));
    this.releases.push(release);
    return release;
  }

  release(tag: string): FakeRelease | undefined {
    return this.releases.find((r) => r.tag === tag);
  }

  writes(): LoggedRequest[] {
    return this.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD');
  }

  // ---------------------------------------------------------------------------------------------

  private async handle(host: 'api' | 'uploads', request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url ?? '/', 'http://fake');
    const prefix = host === 'api' ? this.apiPrefix : this.uploadsPrefix;
    const method = request.method ?? 'GET';
    const log: LoggedRequest = { method, path: url.pathname, operation: null, status: 0, fault: null, host };
    this.requests.push(log);
    response.on('finish', () => this.events.emit('response', log));

    if (host === 'uploads' && url.pathname.startsWith(`${prefix}/download/`)) {
      this.download(url, response, log);
      return;
    }
    if (!url.pathname.startsWith(prefix)) {
      this.send(response, log, null, 404, { message: 'Not Found' });
      return;
    }
    const operation = this.checker.match(method, url.pathname.slice(prefix.length));
    const isUpload = operation?.id === 'repos/upload-release-asset';
    if (!operation || isUpload !== (host === 'uploads')) {
      this.violations.push(`${method} ${url.pathname} on the ${host} host: not an operation GitHub serves there`);
      this.send(response, log, null, 404, { message: 'Not Found' });
      return;
    }
    log.operation = operation.id;

    const fault = this.takeFault(operation, url.searchParams);
    if (fault?.kind === 'reset') {
      this.reset(request, operation, url.searchParams, fault.afterBytes, log);
      return;
    }

    const body = await readBody(request);
    if (body === null) {
      // The client died mid-upload (killed, network gone): GitHub keeps a starter asset.
      if (isUpload) this.leaveStarter(operation, url.searchParams);
      log.status = -1;
      return;
    }
    for (const problem of this.checker.checkRequest(operation, {
      query: url.searchParams,
      headers: request.headers,
      body,
    }))
      this.violations.push(problem);

    if (this.token !== undefined) {
      const authorization = request.headers.authorization;
      // A public repository: anyone may read (drafts stay hidden); writing takes the token.
      const anonymousRead = authorization === undefined && method === 'GET';
      if (!anonymousRead && (authorization ?? '').replace(/^(token|bearer) /i, '') !== this.token) {
        this.sendUnchecked(response, log, 401, {
          message: 'Bad credentials',
          documentation_url: 'https://docs.github.com/rest',
          status: '401',
        });
        return;
      }
    }
    if (operation.params.owner !== this.owner || operation.params.repo !== this.repo) {
      this.send(response, log, operation, 404, notFound());
      return;
    }

    if (fault) {
      log.fault = fault.kind;
      if (fault.kind === 'status') {
        this.sendUnchecked(response, log, fault.status, {
          message: fault.status === 502 ? 'Server Error' : 'Internal Server Error',
        });
        return;
      }
      if (fault.kind === 'secondary-rate-limit') {
        this.sendUnchecked(
          response,
          log,
          403,
          {
            message:
              'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.',
            documentation_url:
              'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
          },
          { 'retry-after': String(fault.retryAfter) },
        );
        return;
      }
      if (fault.kind === 'rate-limit') {
        this.sendUnchecked(
          response,
          log,
          429,
          { message: 'API rate limit exceeded', documentation_url: 'https://docs.github.com/rest' },
          {
            'retry-after': String(fault.retryAfter),
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + fault.retryAfter),
          },
        );
        return;
      }
    }
    try {
      this.route(operation, url.searchParams, request, body, response, log, fault);
    } catch (error) {
      this.violations.push(`fake server bug on ${method} ${url.pathname}: ${String(error)}`);
      if (!response.headersSent) this.sendUnchecked(response, log, 500, { message: 'fake server bug' });
    }
  }

  private route(
    operation: Operation,
    query: URLSearchParams,
    request: IncomingMessage,
    raw: Buffer,
    response: ServerResponse,
    log: LoggedRequest,
    fault: Fault | null,
  ): void {
    const authenticated = request.headers.authorization !== undefined;
    const visible = (release: FakeRelease) => authenticated || !release.draft;
    const isJson = (request.headers['content-type'] ?? '').startsWith('application/json');
    const json = isJson && raw.length > 0 ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
    const releaseById = () => this.releases.find((r) => r.id === Number(operation.params.release_id) && visible(r));
    const assetById = () => {
      for (const release of this.releases)
        for (const asset of release.assets)
          if (asset.id === Number(operation.params.asset_id) && visible(release)) return { release, asset };
      return undefined;
    };

    switch (operation.id) {
      case 'repos/list-releases': {
        const all = this.releases.filter(visible).sort((a, b) => b.id - a.id);
        this.page(response, log, operation, query, all, (r) => this.releaseJson(r));
        return;
      }
      case 'repos/get-release-by-tag': {
        // Drafts have no tag yet: GitHub does not find them by tag.
        const found = this.releases.find((r) => r.tag === operation.params.tag && !r.draft);
        if (found) this.send(response, log, operation, 200, this.releaseJson(found));
        else this.send(response, log, operation, 404, notFound());
        return;
      }
      case 'repos/get-release': {
        const found = releaseById();
        if (found) this.send(response, log, operation, 200, this.releaseJson(found));
        else this.sendUnchecked(response, log, 404, notFound());
        return;
      }
      case 'repos/create-release': {
        const tag = String(json.tag_name);
        if (this.releases.some((r) => r.tag === tag && !r.draft)) {
          this.send(response, log, operation, 422, alreadyExists('Release', 'tag_name'));
          return;
        }
        const draft = json.draft === true;
        const release = this.seedRelease({
          tag,
          name: typeof json.name === 'string' ? json.name : tag,
          body: typeof json.body === 'string' ? json.body : null,
          draft,
          prerelease: json.prerelease === true,
          targetCommitish: typeof json.target_commitish === 'string' ? json.target_commitish : 'main',
        });
        if (!draft) {
          release.immutable = this.immutableReleases;
          this.markLatest(release, json.make_latest);
        }
        this.send(response, log, operation, 201, this.releaseJson(release), {
          location: `${this.apiUrl}/repos/${this.owner}/${this.repo}/releases/${release.id}`,
        });
        return;
      }
      case 'repos/update-release': {
        const release = releaseById();
        if (!release) {
          this.send(response, log, operation, 404, notFound());
          return;
        }
        if (release.immutable && (json.tag_name !== undefined || json.draft === true)) {
          this.sendUnchecked(response, log, 422, {
            message: 'Cannot modify the tag or state of an immutable release.',
          });
          return;
        }
        if (typeof json.tag_name === 'string') release.tag = json.tag_name;
        if (typeof json.name === 'string') release.name = json.name;
        if (typeof json.body === 'string') release.body = json.body;
        if (typeof json.prerelease === 'boolean') release.prerelease = json.prerelease;
        if (json.draft === false && release.draft) {
          if (this.releases.some((r) => r !== release && r.tag === release.tag && !r.draft)) {
            this.sendUnchecked(response, log, 422, alreadyExists('Release', 'tag_name'));
            return;
          }
          release.draft = false;
          release.publishedAt = timestamp();
          release.immutable = this.immutableReleases;
          this.markLatest(release, json.make_latest);
          this.events.emit('published', release);
        }
        this.send(response, log, operation, 200, this.releaseJson(release));
        return;
      }
      case 'repos/list-release-assets': {
        const release = releaseById();
        if (!release) {
          this.sendUnchecked(response, log, 404, notFound());
          return;
        }
        this.page(response, log, operation, query, release.assets, (a) => this.assetJson(release, a));
        return;
      }
      case 'repos/upload-release-asset': {
        const release = releaseById();
        if (!release) {
          this.sendUnchecked(response, log, 404, notFound());
          return;
        }
        const name = query.get('name') ?? '';
        if (release.immutable) {
          this.send(response, log, operation, 422, {
            message: 'Cannot upload assets to an immutable release.',
            documentation_url: 'https://docs.github.com/rest/releases/assets#upload-a-release-asset',
          });
          return;
        }
        if (fault?.kind === 'already-exists' && !release.assets.some((a) => a.name === name)) {
          log.fault = fault.kind;
          release.assets.push(this.newAsset(name, raw, 'uploaded'));
        }
        if (release.assets.some((a) => a.name === name)) {
          this.send(response, log, operation, 422, alreadyExists('ReleaseAsset', 'name'));
          return;
        }
        const asset = this.newAsset(name, raw, 'uploaded', query.get('label'));
        asset.contentType = request.headers['content-type'] ?? 'application/octet-stream';
        release.assets.push(asset);
        this.events.emit('uploaded', asset);
        this.send(response, log, operation, 201, this.assetJson(release, asset));
        return;
      }
      case 'repos/get-release-asset': {
        const found = assetById();
        if (!found) {
          this.send(response, log, operation, 404, notFound());
          return;
        }
        if (request.headers.accept === 'application/octet-stream') {
          this.validateResponse(operation, 302, undefined, log);
          response.writeHead(302, { ...this.rateHeaders(), location: this.downloadUrl(found.asset) });
          log.status = 302;
          return void response.end();
        }
        this.send(response, log, operation, 200, this.assetJson(found.release, found.asset));
        return;
      }
      case 'repos/update-release-asset': {
        const found = assetById();
        if (!found) {
          this.sendUnchecked(response, log, 404, notFound());
          return;
        }
        if (found.release.immutable) {
          this.sendUnchecked(response, log, 422, { message: 'Cannot modify an immutable release.' });
          return;
        }
        if (typeof json.name === 'string') {
          if (found.release.assets.some((a) => a !== found.asset && a.name === json.name)) {
            this.sendUnchecked(response, log, 422, alreadyExists('ReleaseAsset', 'name'));
            return;
          }
          found.asset.name = json.name;
        }
        if (typeof json.label === 'string') found.asset.label = json.label;
        found.asset.updatedAt = timestamp();
        this.send(response, log, operation, 200, this.assetJson(found.release, found.asset));
        return;
      }
      case 'repos/delete-release-asset': {
        const found = assetById();
        if (!found) {
          this.send(response, log, operation, 404, notFound());
          return;
        }
        if (found.release.immutable) {
          this.sendUnchecked(response, log, 422, { message: 'Cannot delete assets of an immutable release.' });
          return;
        }
        found.release.assets.splice(found.release.assets.indexOf(found.asset), 1);
        this.validateResponse(operation, 204, undefined, log);
        response.writeHead(204, this.rateHeaders());
        log.status = 204;
        return void response.end();
      }
      default:
        this.violations.push(`the fake does not implement ${operation.id}`);
        {
          this.sendUnchecked(response, log, 501, { message: 'not implemented' });
          return;
        }
    }
  }

  private page<T>(
    response: ServerResponse,
    log: LoggedRequest,
    operation: Operation,
    query: URLSearchParams,
    items: readonly T[],
    render: (item: T) => unknown,
  ) {
    const perPage = Math.min(Number(query.get('per_page') ?? this.pageSize), 100);
    const page = Math.max(Number(query.get('page') ?? 1), 1);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const headers: Record<string, string> = {};
    const last = Math.max(Math.ceil(items.length / perPage), 1);
    if (page < last) {
      const next = new URL(`http://x${log.path}`);
      next.searchParams.set('per_page', String(perPage));
      next.searchParams.set('page', String(page + 1));
      const origin = new URL(log.host === 'api' ? this.apiUrl : this.uploadsUrl).origin;
      headers.link = `<${origin}${next.pathname}${next.search}>; rel="next", <${origin}${next.pathname}?per_page=${perPage}&page=${last}>; rel="last"`;
    }
    this.send(response, log, operation, 200, slice.map(render), headers);
  }

  private takeFault(operation: Operation, query: URLSearchParams): Fault | null {
    const index = this.faults.findIndex(
      (f) => f.operation === operation.id && f.remaining > 0 && (f.when?.({ params: operation.params, query }) ?? true),
    );
    const found = this.faults[index];
    if (!found) return null;
    found.remaining -= 1;
    return found.fault;
  }

  /** Cut the connection mid-body; an upload cut this way leaves a starter asset, as on GitHub. */
  private reset(
    request: IncomingMessage,
    operation: Operation,
    query: URLSearchParams,
    afterBytes: number,
    log: LoggedRequest,
  ) {
    log.fault = 'reset';
    let received = 0;
    let done = false;
    const cut = () => {
      if (done) return;
      done = true;
      if (operation.id === 'repos/upload-release-asset') this.leaveStarter(operation, query);
      request.socket.destroy();
      this.events.emit('response', log);
    };
    if (afterBytes <= 0) {
      cut();
      return;
    }
    request.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= afterBytes) cut();
    });
    request.on('end', cut);
  }

  /** make_latest defaults to "true" for a newly published full release; prereleases never are. */
  private markLatest(release: FakeRelease, makeLatest: unknown) {
    if (release.prerelease || makeLatest === 'false') return;
    this.latestId = release.id;
  }

  private leaveStarter(operation: Operation, query: URLSearchParams) {
    const release = this.releases.find((r) => r.id === Number(operation.params.release_id));
    const name = query.get('name') ?? '';
    if (release && !release.assets.some((a) => a.name === name))
      release.assets.push(this.newAsset(name, Buffer.alloc(0), 'open'));
  }

  private download(url: URL, response: ServerResponse, log: LoggedRequest) {
    const id = Number(url.pathname.split('/').at(-2));
    for (const release of this.releases)
      for (const asset of release.assets)
        if (asset.id === id) {
          log.status = 200;
          response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': asset.data.length });
          return void response.end(asset.data);
        }
    log.status = 404;
    response.writeHead(404);
    response.end();
  }

  private send(
    response: ServerResponse,
    log: LoggedRequest,
    operation: Operation | null,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) {
    if (operation) this.validateResponse(operation, status, body, log);
    this.write(response, log, status, body, headers);
  }

  /** Responses GitHub sends although its description does not list them (401, 5xx, rate limits). */
  private sendUnchecked(
    response: ServerResponse,
    log: LoggedRequest,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) {
    this.write(response, log, status, body, headers);
  }

  private validateResponse(operation: Operation, status: number, body: unknown, log: LoggedRequest) {
    for (const problem of this.checker.checkResponse(operation, status, body))
      this.violations.push(`${problem} (${log.method} ${log.path})`);
  }

  private write(
    response: ServerResponse,
    log: LoggedRequest,
    status: number,
    body: unknown,
    headers: Record<string, string>,
  ) {
    log.status = status;
    const text = JSON.stringify(body);
    response.writeHead(status, {
      ...this.rateHeaders(),
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'x-github-request-id': `FAKE:${this.requests.length}`,
      ...headers,
    });
    response.end(text);
  }

  private rateHeaders() {
    return {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(Math.max(5000 - this.requests.length, 0)),
      'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 3600),
      'x-ratelimit-used': String(this.requests.length),
      'x-ratelimit-resource': 'core',
    };
  }

  private newAsset(name: string, data: Buffer, state: FakeAsset['state'], label: string | null = null): FakeAsset {
    const now = timestamp();
    return {
      id: this.nextId++,
      name,
      label,
      contentType: 'application/octet-stream',
      data,
      state,
      createdAt: now,
      updatedAt: now,
    };
  }

  private downloadUrl(asset: FakeAsset) {
    return `${this.uploadsUrl}/download/${asset.id}/${encodeURIComponent(asset.name)}`;
  }

  private releaseJson(release: FakeRelease) {
    const example = this.checker.example('release') as { author: unknown };
    const api = `${this.apiUrl}/repos/${this.owner}/${this.repo}`;
    const tagPath = release.draft ? `untagged-${release.id}` : release.tag;
    return {
      url: `${api}/releases/${release.id}`,
      html_url: `https://github.example/${this.owner}/${this.repo}/releases/tag/${encodeURIComponent(tagPath)}`,
      assets_url: `${api}/releases/${release.id}/assets`,
      upload_url: `${this.uploadsUrl}/repos/${this.owner}/${this.repo}/releases/${release.id}/assets${this.uploadUrlTemplate ? '{?name,label}' : ''}`,
      tarball_url: release.draft ? null : `${api}/tarball/${release.tag}`,
      zipball_url: release.draft ? null : `${api}/zipball/${release.tag}`,
      id: release.id,
      node_id: Buffer.from(`Release${release.id}`).toString('base64'),
      tag_name: release.tag,
      target_commitish: release.targetCommitish,
      name: release.name,
      body: release.body,
      draft: release.draft,
      prerelease: release.prerelease,
      immutable: release.immutable,
      created_at: release.createdAt,
      published_at: release.publishedAt,
      author: example.author,
      assets: release.assets.map((asset) => this.assetJson(release, asset)),
    };
  }

  private assetJson(release: FakeRelease, asset: FakeAsset) {
    const example = this.checker.example('release') as { author: unknown };
    return {
      url: `${this.apiUrl}/repos/${this.owner}/${this.repo}/releases/assets/${asset.id}`,
      browser_download_url: this.downloadUrl(asset),
      id: asset.id,
      node_id: Buffer.from(`ReleaseAsset${asset.id}`).toString('base64'),
      name: asset.name,
      label: asset.label,
      state: asset.state,
      content_type: asset.contentType,
      size: asset.data.length,
      digest:
        this.digests && asset.state === 'uploaded'
          ? `sha256:${createHash('sha256').update(asset.data).digest('hex')}`
          : null,
      download_count: 0,
      created_at: asset.createdAt,
      updated_at: asset.updatedAt,
      uploader: example.author,
    };
  }
}

/** The body, or null when the client went away before sending all of it. */
function readBody(request: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      resolve(Buffer.concat(chunks));
    });
    request.on('error', () => {
      resolve(null);
    });
    request.on('close', () => {
      if (!request.complete) resolve(null);
    });
  });
}

function timestamp() {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function notFound() {
  return { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' };
}

function alreadyExists(resource: string, field: string) {
  return {
    message: 'Validation Failed',
    errors: [{ resource, code: 'already_exists', field }],
    documentation_url: 'https://docs.github.com/rest',
    status: '422',
  };
}
