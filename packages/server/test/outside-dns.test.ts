import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDnsProvider, dnsConfigFromEnv, DnsError, type DnsProvider } from '../src/outside/dns.ts';
import { startLocalBind, type LocalBind } from '../src/outside/local-bind.ts';

/** A TCP server on 127.0.0.1 that counts connections and never answers: nothing reaching it means nothing was sent. */
async function silentServer(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let n = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    n++;
    sockets.add(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    connections: () => n,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function dnsError(p: Promise<unknown>): Promise<DnsError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(DnsError);
  return err as DnsError;
}

describe('RFC 2136 provider against a real BIND', () => {
  let bind: LocalBind;
  let dns: DnsProvider;
  const at = (label: string) => `${label}.${bind.zone}`;

  beforeAll(async () => {
    bind = await startLocalBind();
    dns = createDnsProvider(bind.config);
  });
  afterAll(async () => {
    await bind?.stop();
  });

  it('serves the zone SOA and reports the provider kind and zone', async () => {
    expect(await bind.dig(bind.zone, 'SOA')).toHaveLength(1);
    expect(dns).toMatchObject({ kind: 'rfc2136', zone: 'tenants.ringmaster.test' });
  });

  it('upserts an A record, replaces it on the next upsert, removes it, and removes again without error', async () => {
    const name = at('storefront-eu');
    await dns.upsert({ name, type: 'A', ttl: 60, values: ['192.0.2.10'] });
    expect(await bind.dig(name, 'A')).toEqual(['192.0.2.10']);
    await dns.upsert({ name, type: 'A', ttl: 60, values: ['192.0.2.10'] }); // idempotent
    expect(await bind.dig(name, 'A')).toEqual(['192.0.2.10']);
    await dns.upsert({ name, type: 'A', ttl: 120, values: ['198.51.100.7'] });
    expect(await bind.dig(name, 'A')).toEqual(['198.51.100.7']);
    expect(await dns.lookup(name, 'A')).toEqual(['198.51.100.7']);
    await dns.remove(name, 'A');
    expect(await bind.dig(name, 'A')).toEqual([]);
    expect(await dns.lookup(name, 'A')).toEqual([]);
    await dns.remove(name, 'A');
    await dns.remove(at('never-existed'), 'TXT');
  });

  it('looks up every record type in its canonical form, and [] for a name that does not exist', async () => {
    await dns.upsert({ name: at('multi'), type: 'A', ttl: 60, values: ['192.0.2.1', '192.0.2.2', '192.0.2.1'] });
    expect((await dns.lookup(at('multi'), 'A')).sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    expect((await bind.dig(at('multi'))).sort()).toEqual(['192.0.2.1', '192.0.2.2']);

    await dns.upsert({ name: `MULTI.${bind.zone.toUpperCase()}.`, type: 'AAAA', ttl: 60, values: ['2001:DB8:0:0:0:0:0:10'] });
    expect(await dns.lookup(at('multi'), 'AAAA')).toEqual(['2001:db8::10']);
    expect(await bind.dig(at('multi'), 'AAAA')).toEqual(['2001:db8::10']);

    await dns.upsert({ name: at('www'), type: 'CNAME', ttl: 60, values: [at('multi')] });
    expect(await dns.lookup(at('www'), 'CNAME')).toEqual([at('multi')]);
    expect(await bind.dig(at('www'), 'CNAME')).toEqual([`${at('multi')}.`]);
    // the A query at a CNAME answers the target's addresses too: lookup keeps only the name's own records
    expect(await dns.lookup(at('www'), 'A')).toEqual([]);

    const txt = 'v=ringmaster1; request="r-42" owner=checkout';
    await dns.upsert({ name: at('_ringmaster.www2'), type: 'TXT', ttl: 60, values: [txt] });
    expect(await dns.lookup(at('_ringmaster.www2'), 'TXT')).toEqual([txt]);
    expect(await bind.dig(at('_ringmaster.www2'), 'TXT')).toEqual([JSON.stringify(txt)]);

    expect(await dns.lookup(at('nowhere'), 'A')).toEqual([]);
    expect(await dns.lookup(bind.zone, 'TXT')).toEqual([]);
  });

  it('reports a CNAME that BIND silently refuses to place beside other records as CONFLICT', async () => {
    await dns.upsert({ name: at('both'), type: 'A', ttl: 60, values: ['192.0.2.5'] });
    const err = await dnsError(dns.upsert({ name: at('both'), type: 'CNAME', ttl: 60, values: [at('multi')] }));
    expect(err.code).toBe('CONFLICT');
    expect(await bind.dig(at('both'), 'A')).toEqual(['192.0.2.5']);
  });

  it('a wrong TSIG secret or key name is refused by the server (NOTAUTH) and changes nothing', async () => {
    const name = at('guarded');
    await dns.upsert({ name, type: 'A', ttl: 60, values: ['192.0.2.20'] });
    const wrongSecret = createDnsProvider({ ...bind.config, tsig: { ...bind.config.tsig, secret: Buffer.alloc(32, 7).toString('base64') } });
    const bySecret = await dnsError(wrongSecret.upsert({ name, type: 'A', ttl: 60, values: ['203.0.113.66'] }));
    expect(bySecret).toMatchObject({ code: 'NOTAUTH', tsigError: 'BADSIG', retryable: false });
    expect(bySecret.message).toContain('secret');
    expect(bySecret.message).not.toContain(bind.tsig.secret);
    await dnsError(wrongSecret.remove(name, 'A'));

    const wrongKey = createDnsProvider({ ...bind.config, tsig: { ...bind.config.tsig, name: 'someone-else' } });
    expect(await dnsError(wrongKey.upsert({ name, type: 'A', ttl: 60, values: ['203.0.113.66'] }))).toMatchObject({ code: 'NOTAUTH', tsigError: 'BADKEY' });
    expect(await bind.dig(name, 'A')).toEqual(['192.0.2.20']);
  });

  it('a zone the server does not serve is refused by the server', async () => {
    const other = createDnsProvider({ ...bind.config, zone: 'elsewhere.test' });
    const err = await dnsError(other.upsert({ name: 'x.elsewhere.test', type: 'A', ttl: 60, values: ['192.0.2.1'] }));
    expect(['NOTAUTH', 'REFUSED', 'NOTZONE']).toContain(err.code);
  });

  it('refuses names and values that are not valid before anything is sent', async () => {
    const silent = await silentServer();
    try {
      const p = createDnsProvider({ ...bind.config, server: { host: '127.0.0.1', port: silent.port } });
      const cases: [Promise<unknown>, RegExp][] = [
        [p.upsert({ name: 'shop.example.com', type: 'A', ttl: 60, values: ['192.0.2.1'] }), /not inside the zone tenants\.ringmaster\.test/],
        [p.upsert({ name: 'eviltenants.ringmaster.test', type: 'A', ttl: 60, values: ['192.0.2.1'] }), /not inside the zone/],
        [p.upsert({ name: at('a'), type: 'A', ttl: 60, values: ['192.0.2.300'] }), /A value "192\.0\.2\.300" is not an IPv4 address/],
        [p.upsert({ name: at('a'), type: 'A', ttl: 60, values: ['2001:db8::1'] }), /not an IPv4 address/],
        [p.upsert({ name: at('a'), type: 'AAAA', ttl: 60, values: ['192.0.2.1'] }), /not an IPv6 address/],
        [p.upsert({ name: at('a'), type: 'CNAME', ttl: 60, values: ['bad host.example.com'] }), /invalid label "bad host"/],
        [p.upsert({ name: at('a'), type: 'CNAME', ttl: 60, values: ['a.example.com', 'b.example.com'] }), /exactly one value/],
        [p.upsert({ name: at('a'), type: 'TXT', ttl: 60, values: ['x'.repeat(256)] }), /1 to 255 printable ASCII/],
        [p.upsert({ name: at('a'), type: 'TXT', ttl: 60, values: ['line\nbreak'] }), /printable ASCII/],
        [p.upsert({ name: at('a;rm -rf'), type: 'A', ttl: 60, values: ['192.0.2.1'] }), /invalid label "a;rm -rf"/],
        [p.upsert({ name: `${'x'.repeat(64)}.${bind.zone}`, type: 'A', ttl: 60, values: ['192.0.2.1'] }), /invalid label/],
        [p.upsert({ name: `${'abcdefghi.'.repeat(24)}${bind.zone}`, type: 'A', ttl: 60, values: ['192.0.2.1'] }), /longer than 253/],
        [p.upsert({ name: at('a'), type: 'A', ttl: -1, values: ['192.0.2.1'] }), /TTL -1/],
        [p.upsert({ name: at('a'), type: 'A', ttl: 60, values: [] }), /at least one value/],
        [p.upsert({ name: at('a'), type: 'MX' as 'A', ttl: 60, values: ['192.0.2.1'] }), /record type "MX" is not supported/],
        [p.upsert({ name: bind.zone, type: 'CNAME', ttl: 60, values: ['a.example.com'] }), /zone apex/],
        [p.remove('shop.example.com', 'A'), /not inside the zone/],
        [p.lookup('shop.example.com', 'A'), /not inside the zone/],
      ];
      for (const [promise, message] of cases) {
        const err = await dnsError(promise);
        expect(err.code).toBe('INVALID');
        expect(err.message).toMatch(message);
      }
      expect(silent.connections()).toBe(0);
    } finally {
      await silent.close();
    }
  });

  it('a server that does not answer is a retryable TIMEOUT; one that is not there a retryable NETWORK error', async () => {
    const silent = await silentServer();
    try {
      const p = createDnsProvider({ ...bind.config, server: { host: '127.0.0.1', port: silent.port }, timeoutMs: 300 });
      expect(await dnsError(p.lookup(at('a'), 'A'))).toMatchObject({ code: 'TIMEOUT', retryable: true });
    } finally {
      await silent.close();
    }
    const gone = createDnsProvider({ ...bind.config, server: { host: '127.0.0.1', port: silent.port } });
    expect(await dnsError(gone.remove(at('a'), 'A'))).toMatchObject({ code: 'NETWORK', retryable: true });
  });

  it('refuses a configuration it cannot use', () => {
    expect(() => createDnsProvider({ ...bind.config, tsig: { ...bind.config.tsig, algorithm: 'hmac-md5' } })).toThrow(/TSIG algorithm "hmac-md5" is not supported/);
    expect(() => createDnsProvider({ ...bind.config, tsig: { ...bind.config.tsig, secret: 'not base64!' } })).toThrow(/must be base64/);
  });
});

describe('dnsConfigFromEnv', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ringmaster-dns-env-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const secret = Buffer.alloc(32, 3).toString('base64');
  const base = { RINGMASTER_DNS_ZONE: 'tenants.ringmaster.test', RINGMASTER_DNS_TSIG_KEY_NAME: 'ringmaster-update', RINGMASTER_DNS_TSIG_SECRET: secret };

  it('is null without RINGMASTER_DNS_SERVER', () => {
    expect(dnsConfigFromEnv({})).toBeNull();
    expect(dnsConfigFromEnv({ ...base, RINGMASTER_DNS_SERVER: '' })).toBeNull();
  });

  it('reads host:port (default 53), the zone, the key and its secret from a file or the environment', () => {
    expect(dnsConfigFromEnv({ ...base, RINGMASTER_DNS_SERVER: '127.0.0.1:5353' })).toEqual({
      server: { host: '127.0.0.1', port: 5353 }, zone: 'tenants.ringmaster.test', tsig: { name: 'ringmaster-update', algorithm: 'hmac-sha256', secret },
    });
    expect(dnsConfigFromEnv({ ...base, RINGMASTER_DNS_SERVER: 'ns1.example.net' })?.server).toEqual({ host: 'ns1.example.net', port: 53 });
    expect(dnsConfigFromEnv({ ...base, RINGMASTER_DNS_SERVER: '[::1]:8053' })?.server).toEqual({ host: '::1', port: 8053 });
    const bare = join(dir, 'secret');
    writeFileSync(bare, secret + '\n', { mode: 0o600 });
    const keyFile = join(dir, 'key.conf');
    writeFileSync(keyFile, `key "ringmaster-update" {\n\talgorithm hmac-sha512;\n\tsecret "${secret}";\n};\n`, { mode: 0o600 });
    const fromFile = { RINGMASTER_DNS_SERVER: '127.0.0.1', RINGMASTER_DNS_ZONE: base.RINGMASTER_DNS_ZONE, RINGMASTER_DNS_TSIG_KEY_NAME: 'ringmaster-update' };
    expect(dnsConfigFromEnv({ ...fromFile, RINGMASTER_DNS_TSIG_SECRET_FILE: bare })?.tsig.secret).toBe(secret);
    expect(dnsConfigFromEnv({ ...fromFile, RINGMASTER_DNS_TSIG_SECRET_FILE: keyFile, RINGMASTER_DNS_TSIG_ALGORITHM: 'HMAC-SHA512' })?.tsig).toEqual({ name: 'ringmaster-update', algorithm: 'hmac-sha512', secret });
  });

  it('names the variable that is missing or malformed, without quoting the secret', () => {
    const cases: [NodeJS.ProcessEnv, RegExp][] = [
      [{ ...base, RINGMASTER_DNS_SERVER: '127.0.0.1:99999' }, /^RINGMASTER_DNS_SERVER "127\.0\.0\.1:99999" must be host:port/],
      [{ ...base, RINGMASTER_DNS_SERVER: 'a b:53' }, /^RINGMASTER_DNS_SERVER/],
      [{ ...base, RINGMASTER_DNS_SERVER: '127.0.0.1', RINGMASTER_DNS_ZONE: '' }, /^RINGMASTER_DNS_ZONE is required/],
      [{ ...base, RINGMASTER_DNS_SERVER: '127.0.0.1', RINGMASTER_DNS_ZONE: 'bad..zone' }, /^RINGMASTER_DNS_ZONE: zone "bad\.\.zone" has an invalid label/],
      [{ ...base, RINGMASTER_DNS_SERVER: '127.0.0.1', RINGMASTER_DNS_TSIG_KEY_NAME: undefined }, /^RINGMASTER_DNS_TSIG_KEY_NAME is required/],
      [{ ...base, RINGMASTER_DNS_SERVER: '127.0.0.1', RINGMASTER_DNS_TSIG_ALGORITHM: 'hmac-md5' }, /^RINGMASTER_DNS_TSIG_ALGORITHM "hmac-md5" is not supported/],
      [{ ...base, RINGMASTER_DNS_SERVER: '127.0.0.1', RINGMASTER_DNS_TSIG_SECRET: undefined }, /^RINGMASTER_DNS_TSIG_SECRET_FILE \(or RINGMASTER_DNS_TSIG_SECRET\) is required/],
      [{ ...base, RINGMASTER_DNS_SERVER: '127.0.0.1', RINGMASTER_DNS_TSIG_SECRET: 'c2hvcnQ=' }, /^RINGMASTER_DNS_TSIG_SECRET: the TSIG secret is 5 bytes, too short/],
      [{ ...base, RINGMASTER_DNS_SERVER: '127.0.0.1', RINGMASTER_DNS_TSIG_SECRET: 'hunter2 hunter2' }, /^RINGMASTER_DNS_TSIG_SECRET: the TSIG secret must be base64/],
      [{ ...base, RINGMASTER_DNS_SERVER: '127.0.0.1', RINGMASTER_DNS_TSIG_SECRET_FILE: '/nonexistent/secret' }, /^set only one of/],
      [{ ...base, RINGMASTER_DNS_SERVER: '127.0.0.1', RINGMASTER_DNS_TSIG_SECRET: undefined, RINGMASTER_DNS_TSIG_SECRET_FILE: '/nonexistent/secret' }, /^RINGMASTER_DNS_TSIG_SECRET_FILE \/nonexistent\/secret cannot be read: ENOENT/],
    ];
    for (const [env, message] of cases) {
      let err: unknown;
      try {
        dnsConfigFromEnv(env);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(env)).toBeInstanceOf(Error);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).not.toContain('hunter2');
    }
  });
});

describe('startLocalBind', () => {
  it('keeps its files in the given folder and stops named (a second stop is harmless)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringmaster-bind-own-'));
    try {
      const bind = await startLocalBind({ dir: join(dir, 'named'), zone: 'demo.ringmaster.test' });
      expect(bind.zone).toBe('demo.ringmaster.test');
      expect(existsSync(join(dir, 'named', 'named.conf'))).toBe(true);
      const dns = createDnsProvider(bind.config);
      await dns.upsert({ name: 'db.demo.ringmaster.test', type: 'A', ttl: 30, values: ['192.0.2.99'] });
      expect(await bind.dig('db.demo.ringmaster.test')).toEqual(['192.0.2.99']);
      await bind.stop();
      await bind.stop();
      await expect(bind.dig('db.demo.ringmaster.test')).rejects.toThrow(/dig/);
      expect(existsSync(join(dir, 'named', 'demo.ringmaster.test.zone'))).toBe(true); // a given folder stays
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
