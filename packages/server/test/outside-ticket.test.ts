import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UnauthenticatedError } from '../src/errors.ts';
import { createTicketClient, ticketClientFromEnv, TicketError, type TicketCall } from '../src/outside/ticket.ts';
import { signTicketWebhook, TICKET_WEBHOOK_TOLERANCE_S, verifyTicketWebhook } from '../src/outside/ticket-webhook.ts';

const SECRET = 'ticket-hook secret — shared with the service desk';

interface Seen { headers: IncomingHttpHeaders; body: Buffer; receivedMs: number }
type Reply = { status: number; body?: string; headers?: Record<string, string> };

/** A ticketing system on 127.0.0.1: answers from a script of replies (the last one repeats) and records every request. */
class Receiver {
  private server!: Server;
  seen: Seen[] = [];
  script: Reply[] = [];
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.seen.push({ headers: req.headers, body: Buffer.concat(chunks), receivedMs: Date.now() });
        const reply = this.script.length > 1 ? this.script.shift()! : this.script[0] ?? { status: 200 };
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.body ?? '');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/hooks/ringmaster?token=not-for-logs`;
  }

  reset(script: Reply[]): void {
    this.seen = [];
    this.script = script;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}

const call: TicketCall = {
  action: 'open', ticket: null, request: 'req-7f3a', kind: 'postgres', instance: 'orders-eu', cluster: 'eu-west-1', state: 'provisioning', message: 'Provisioning orders-eu on eu-west-1',
};

function recorder() {
  const sleeps: number[] = [];
  const lines: string[] = [];
  return { sleeps, lines, sleep: async (ms: number) => void sleeps.push(ms), log: (l: string) => void lines.push(l) };
}

describe('ticket client against a real HTTP receiver', () => {
  const receiver = new Receiver();
  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());
  afterEach(() => receiver.reset([]));

  it('retries 503 and succeeds, with the same Idempotency-Key and a valid signature on every attempt', async () => {
    receiver.reset([{ status: 503, body: 'maintenance' }, { status: 503 }, { status: 201, body: JSON.stringify({ ticket: 'OPS-1042' }) }]);
    const r = recorder();
    const client = createTicketClient({ url: receiver.url, secret: SECRET, baseMs: 100, sleep: r.sleep });
    const result = await client.call(call, { idempotencyKey: 'req-7f3a:open:1', log: r.log });
    expect(result).toEqual({ ticket: 'OPS-1042', status: 201, attempts: 3 });
    expect(receiver.seen).toHaveLength(3);
    for (const seen of receiver.seen) {
      expect(seen.headers['idempotency-key']).toBe('req-7f3a:open:1');
      expect(seen.headers['content-type']).toBe('application/json');
      expect(() => verifyTicketWebhook(SECRET, seen.headers, seen.body, seen.receivedMs)).not.toThrow();
      expect(JSON.parse(seen.body.toString())).toEqual(call);
    }
    expect(r.sleeps).toEqual([100, 200]);
    expect(r.lines).toHaveLength(3);
    expect(r.lines[0]).toMatch(/attempt 1\/5 .* answered 503: maintenance, retrying in 100 ms/);
    expect(r.lines[2]).toMatch(/attempt 3\/5 .* 201$/);
    expect(r.lines.join('\n')).not.toContain('not-for-logs');
  });

  it('fails at once on a 400 with the status and the start of the body', async () => {
    receiver.reset([{ status: 400, body: JSON.stringify({ error: 'unknown cluster ' + 'x'.repeat(400) }) }]);
    const r = recorder();
    const client = createTicketClient({ url: receiver.url, secret: SECRET, sleep: r.sleep });
    const err = await client.call(call, { idempotencyKey: 'k-400', log: r.log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TicketError);
    expect(err).toMatchObject({ status: 400, attempts: 1, retryable: false });
    expect((err as Error).message).toContain('answered 400: {"error":"unknown cluster xxx');
    expect((err as Error).message.length).toBeLessThan(400);
    expect(receiver.seen).toHaveLength(1);
    expect(r.sleeps).toEqual([]);
  });

  it('honours Retry-After seconds on a 429, capped at maxMs', async () => {
    receiver.reset([{ status: 429, headers: { 'retry-after': '2' } }, { status: 429, headers: { 'retry-after': '3600' } }, { status: 200, body: '{}' }]);
    const r = recorder();
    const client = createTicketClient({ url: receiver.url, secret: SECRET, baseMs: 10, maxMs: 5_000, sleep: r.sleep });
    const result = await client.call({ ...call, action: 'update', ticket: 'OPS-1042' }, { idempotencyKey: 'k-429', log: r.log });
    // no ticket in the answer: the call's own stays
    expect(result).toEqual({ ticket: 'OPS-1042', status: 200, attempts: 3 });
    expect(r.sleeps).toEqual([2_000, 5_000]);
  });

  it('gives up after the attempts with a retryable error naming the last failure', async () => {
    receiver.reset([{ status: 502, body: 'bad gateway' }]);
    const r = recorder();
    const client = createTicketClient({ url: receiver.url, attempts: 3, baseMs: 50, sleep: r.sleep });
    const err = await client.call(call, { idempotencyKey: 'k-502', log: r.log }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502, attempts: 3, retryable: true });
    expect((err as Error).message).toMatch(/failed after 3 attempts: .* answered 502: bad gateway/);
    expect(receiver.seen).toHaveLength(3);
    expect(r.sleeps).toEqual([50, 100]);
    // without a secret there is no signature, only the timestamp
    expect(receiver.seen[0]!.headers['x-ringmaster-signature']).toBeUndefined();
    expect(receiver.seen[0]!.headers['x-ringmaster-timestamp']).toMatch(/^\d+$/);
  });

  it('retries network errors', async () => {
    const other = new Receiver();
    await other.start();
    const closedUrl = other.url;
    await other.stop();
    const r = recorder();
    const client = createTicketClient({ url: closedUrl, attempts: 2, sleep: r.sleep });
    const err = await client.call(call, { idempotencyKey: 'k-net', log: r.log }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: null, attempts: 2, retryable: true });
    expect((err as Error).message).toMatch(/cannot be reached: ECONNREFUSED/);
    expect(r.lines).toHaveLength(2);
  });

  it('stops when the signal is aborted, and refuses a bad call before sending', async () => {
    receiver.reset([{ status: 503 }]);
    const controller = new AbortController();
    const client = createTicketClient({ url: receiver.url, sleep: async () => controller.abort(new Error('request cancelled')) });
    const err = await client.call(call, { idempotencyKey: 'k-abort', signal: controller.signal }).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: false, attempts: 1 });
    expect((err as Error).message).toMatch(/aborted after 1 attempt/);
    expect(receiver.seen).toHaveLength(1);

    receiver.reset([{ status: 200 }]);
    await expect(client.call(call, { idempotencyKey: 'has space' })).rejects.toThrow(/idempotency key/);
    await expect(client.call({ ...call, action: 'reopen' as 'open' }, { idempotencyKey: 'k' })).rejects.toThrow(/ticket action "reopen"/);
    expect(receiver.seen).toHaveLength(0);
  });
});

describe('ticketClientFromEnv', () => {
  it('is null without a URL, a client with one, a precise error for anything but http(s)', () => {
    expect(ticketClientFromEnv({})).toBeNull();
    expect(ticketClientFromEnv({ RINGMASTER_TICKET_URL: 'https://desk.example.com/hooks/ringmaster', RINGMASTER_TICKET_SECRET: 's' })).not.toBeNull();
    expect(() => ticketClientFromEnv({ RINGMASTER_TICKET_URL: 'ftp://desk.example.com/x' })).toThrow('RINGMASTER_TICKET_URL must be an http or https URL, got ftp:');
    expect(() => ticketClientFromEnv({ RINGMASTER_TICKET_URL: 'desk.example.com/hooks' })).toThrow('RINGMASTER_TICKET_URL is not a URL');
  });
});

describe('ticket webhook signatures', () => {
  const body = Buffer.from(JSON.stringify({ ticket: 'OPS-1042', request: 'req-7f3a', state: 'approved' }));
  const now = Date.UTC(2026, 4, 12, 12, 0, 0);

  function refused(headers: Record<string, string | undefined>, raw = body, at = now): string {
    try {
      verifyTicketWebhook(SECRET, headers, raw, at);
    } catch (err) {
      expect(err).toBeInstanceOf(UnauthenticatedError);
      expect((err as UnauthenticatedError).code).toBe('RINGMASTER_UNAUTHENTICATED');
      return (err as Error).message;
    }
    throw new Error('the delivery was accepted');
  }

  it('signs and verifies a round trip, within the replay window either way', () => {
    const headers = signTicketWebhook(SECRET, body, now);
    expect(headers['x-ringmaster-timestamp']).toBe(String(now / 1000));
    expect(headers['x-ringmaster-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(signTicketWebhook(SECRET, body.toString(), now)).toEqual(headers);
    verifyTicketWebhook(SECRET, headers, body, now);
    verifyTicketWebhook(SECRET, headers, body, now + (TICKET_WEBHOOK_TOLERANCE_S - 1) * 1000);
    verifyTicketWebhook(SECRET, headers, body, now - (TICKET_WEBHOOK_TOLERANCE_S - 1) * 1000);
    verifyTicketWebhook(SECRET, { ...headers, 'x-ringmaster-signature': [headers['x-ringmaster-signature']] } as never, body, now);
  });

  it('refuses a forged signature, a tampered body, another secret, an old timestamp and missing headers, saying which', () => {
    const headers = signTicketWebhook(SECRET, body, now);
    expect(refused({ ...headers, 'x-ringmaster-signature': 'sha256=' + '0'.repeat(64) })).toBe('x-ringmaster-signature does not match the timestamp and body');
    expect(refused(headers, Buffer.from(body.toString().replace('approved', 'rejected')))).toMatch(/does not match/);
    expect(refused(signTicketWebhook('another secret', body, now))).toMatch(/does not match/);
    // moving the timestamp breaks the signature, since it is signed
    expect(refused({ ...headers, 'x-ringmaster-timestamp': String(now / 1000 + 1) })).toMatch(/does not match/);
    const old = signTicketWebhook(SECRET, body, now - 301_000);
    expect(refused(old)).toBe('x-ringmaster-timestamp is 301 s from now, more than 300 s: a replayed delivery or a wrong clock');
    expect(refused(signTicketWebhook(SECRET, body, now + 3_600_000))).toMatch(/3600 s from now/);
    expect(refused({ 'x-ringmaster-signature': headers['x-ringmaster-signature'] })).toBe('x-ringmaster-timestamp header is missing');
    expect(refused({ 'x-ringmaster-timestamp': headers['x-ringmaster-timestamp'] })).toBe('x-ringmaster-signature header is missing');
    expect(refused({ ...headers, 'x-ringmaster-timestamp': '2026-05-12T12:00:00Z' })).toBe('x-ringmaster-timestamp must be unix seconds (digits only)');
    expect(() => verifyTicketWebhook('', headers, body, now)).toThrow(UnauthenticatedError);
  });
});
