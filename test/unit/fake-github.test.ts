/**
 * The GitHub stand-in is only worth its tests if it refuses what GitHub would refuse: these
 * check the checker, with requests and responses that deviate from the OpenAPI description.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { OpenApiChecker } from '../helpers/fake-github/openapi.js';
import { FakeGitHub } from '../helpers/fake-github/server.js';

const checker = new OpenApiChecker(['/repos/{owner}/{repo}/releases', '/repos/{owner}/{repo}/releases/{release_id}']);
const headers = { accept: 'application/vnd.github+json', 'content-type': 'application/json' };

function create(body: unknown) {
  const operation = checker.match('POST', '/repos/acme/docker-arm/releases');
  if (!operation) throw new Error('no operation');
  return checker.checkRequest(operation, {
    query: new URLSearchParams(),
    headers,
    body: Buffer.from(JSON.stringify(body)),
  });
}

describe('the OpenAPI checker', () => {
  it('accepts a request GitHub accepts', () => {
    expect(create({ tag_name: 'v1.0.0', draft: true, make_latest: 'false' })).toEqual([]);
  });

  it('flags a missing required field, a wrong type, an unknown field and a bad enum value', () => {
    expect(create({ draft: true }).join('\n')).toContain("must have required property 'tag_name'");
    expect(create({ tag_name: 'v1', draft: 'yes' }).join('\n')).toContain('draft must be boolean');
    expect(create({ tag_name: 'v1', latest: true }).join('\n')).toContain('unknown body field latest');
    expect(create({ tag_name: 'v1', make_latest: true }).join('\n')).toContain('make_latest must be string');
  });

  it('flags path and query parameters of the wrong type and unknown query parameters', () => {
    const operation = checker.match('GET', '/repos/acme/docker-arm/releases/abc');
    if (!operation) throw new Error('no operation');
    expect(checker.checkRequest(operation, { query: new URLSearchParams(), headers, body: Buffer.alloc(0) })).toEqual([
      'GET /repos/{owner}/{repo}/releases/{release_id}: path parameter release_id=abc: data must be integer',
    ]);
    const list = checker.match('GET', '/repos/acme/docker-arm/releases');
    if (!list) throw new Error('no operation');
    expect(
      checker.checkRequest(list, { query: new URLSearchParams('per_page=x&limit=3'), headers, body: Buffer.alloc(0) }),
    ).toEqual([
      'GET /repos/{owner}/{repo}/releases: query parameter per_page=x: data must be integer',
      'GET /repos/{owner}/{repo}/releases: unknown query parameter limit',
    ]);
  });

  it('flags responses outside the description: a missing field, an undocumented status', () => {
    const operation = checker.match('GET', '/repos/acme/docker-arm/releases/1');
    if (!operation) throw new Error('no operation');
    const release = checker.example('release') as Record<string, unknown>;
    expect(checker.checkResponse(operation, 200, release)).toEqual([]);
    delete release.assets;
    expect(checker.checkResponse(operation, 200, release).join('\n')).toContain("must have required property 'assets'");
    expect(checker.checkResponse(operation, 418, {})).toEqual([
      'GET /repos/{owner}/{repo}/releases/{release_id} → 418: status not in the OpenAPI description',
    ]);
  });
});

describe('the fake GitHub server', () => {
  let server: FakeGitHub | undefined;
  afterEach(async () => server?.stop());

  it('records an upload sent without Content-Length as a violation, and a draft is not found by tag', async () => {
    server = await new FakeGitHub({ token: 'secret-token' }).start();
    const release = server.seedRelease({ tag: 'v1.0.0', draft: true });
    const auth = { authorization: 'token secret-token', accept: 'application/vnd.github+json' };
    const byTag = await fetch(`${server.apiUrl}/repos/acme/docker-arm/releases/tags/v1.0.0`, { headers: auth });
    expect(byTag.status).toBe(404);
    // A stream of unknown length: fetch sends it chunked, with no Content-Length.
    const chunks = () => new Blob(['hello']).stream();
    const upload = await fetch(`${server.uploadsUrl}/repos/acme/docker-arm/releases/${release.id}/assets?name=a.txt`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/plain' },
      body: chunks(),
      duplex: 'half',
    });
    expect(upload.status).toBe(201);
    expect(server.violations).toEqual([
      'POST /repos/{owner}/{repo}/releases/{release_id}/assets: no Content-Length (GitHub refuses chunked uploads)',
    ]);
    server.violations.length = 0;
  });
});
