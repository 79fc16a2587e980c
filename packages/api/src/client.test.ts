import { describe, expect, it } from 'vitest';
import { ApiError, createClient } from './client.ts';

/** A fetch that records the call and answers what it is given. */
function answering(status: number, body: unknown) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fetch = async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), init: init ?? {} });
    return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  };
  return { calls, fetch: fetch as typeof globalThis.fetch };
}

describe('the typed API client', () => {
  it('fills the path, drops empty query values, sends the token and the JSON body', async () => {
    const f = answering(200, { releases: [], nextBefore: null });
    const client = createClient({ baseUrl: 'http://rm.example:7420/', token: () => 'rmt_x', fetch: f.fetch });
    expect(await client.request('listReleases', { query: { state: 'paused', limit: 5, before: undefined } })).toEqual({ releases: [], nextBefore: null });
    expect(f.calls[0]!.url).toBe('http://rm.example:7420/api/v1/releases?state=paused&limit=5');
    await client.request('abortRelease', { params: { id: 'r 1/2' }, body: { reason: 'no' } });
    expect(f.calls[1]!.url).toBe('http://rm.example:7420/api/v1/releases/r%201%2F2/abort');
    expect(f.calls[1]!.init).toMatchObject({ method: 'POST', body: '{"reason":"no"}', headers: { authorization: 'Bearer rmt_x', 'content-type': 'application/json' } });
  });

  it('sends no token where the route takes none', async () => {
    const f = answering(200, { version: '0.1.0' });
    await createClient({ baseUrl: '', token: 'rmt_x', fetch: f.fetch }).request('version');
    expect(f.calls[0]!.init.headers).not.toHaveProperty('authorization');
  });

  it('turns the error shape into an ApiError with its code, field and details', async () => {
    const f = answering(400, { error: { code: 'RINGMASTER_INVALID_INPUT', message: 'query.limit: too big', field: 'query.limit', details: { issues: [] } } });
    const err = await createClient({ baseUrl: '', fetch: f.fetch }).request('listChanges', { query: { limit: 9999 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 400, code: 'RINGMASTER_INVALID_INPUT', field: 'query.limit', message: 'query.limit: too big', details: { issues: [] } });
  });
});
