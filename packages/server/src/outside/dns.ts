// DNS records for requests, outside Kubernetes: a small provider interface and its RFC 2136
// implementation. Updates and lookups are DNS messages encoded here and sent over TCP, signed with
// TSIG (RFC 8945); the server's signed answers are verified. Encoding natively (rather than spawning
// nsupdate) keeps the secret in memory only, gives exact rcodes instead of parsed tool output, and
// needs no BIND tools where the server runs.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, isIPv4, isIPv6 } from 'node:net';

export type DnsRecordType = 'A' | 'AAAA' | 'CNAME' | 'TXT';

export interface DnsRecord {
  /** Fully qualified, no trailing dot, inside the zone. */
  name: string;
  type: DnsRecordType;
  ttl: number;
  values: string[];
}

export interface DnsProvider {
  readonly kind: string;
  readonly zone: string;
  /** Current values of name/type at the authoritative server ([] when none). */
  lookup(name: string, type: DnsRecordType): Promise<string[]>;
  /** Replaces the RRset name/type with these values (idempotent). */
  upsert(record: DnsRecord): Promise<void>;
  /** Deletes the RRset name/type (idempotent: no error when absent). */
  remove(name: string, type: DnsRecordType): Promise<void>;
}

export interface DnsConfig {
  server: { host: string; port: number };
  zone: string;
  /** algorithm: hmac-sha256 by default; secret: base64. */
  tsig: { name: string; algorithm: string; secret: string };
  /** Bound of one exchange with the server (connect + answer); 5000 by default. */
  timeoutMs?: number;
}

/**
 * A DNS step that failed. `code` is the server's rcode name (REFUSED, NOTAUTH, SERVFAIL, NOTZONE, …)
 * or one of ours: INVALID (refused before sending), TIMEOUT, NETWORK, BADRESPONSE (an answer that is
 * malformed or not signed by the key), CONFLICT (accepted but not applied: BIND silently ignores a
 * CNAME beside other data). `tsigError` is the TSIG error (BADSIG, BADKEY, BADTIME) when there is one.
 */
export class DnsError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly tsigError?: string;
  constructor(code: string, message: string, options?: { retryable?: boolean; tsigError?: string; cause?: unknown }) {
    super(message, { cause: options?.cause });
    this.name = 'DnsError';
    this.code = code;
    this.retryable = options?.retryable ?? RETRYABLE.has(code);
    this.tsigError = options?.tsigError;
  }
}

// a server that is down, slow or momentarily failing may answer later; everything else needs a change first
const RETRYABLE = new Set(['TIMEOUT', 'NETWORK', 'SERVFAIL']);

const TYPE = { A: 1, NS: 2, CNAME: 5, SOA: 6, TXT: 16, AAAA: 28, TSIG: 250 } as const;
const CLASS_IN = 1;
const CLASS_ANY = 255;
const OPCODE_QUERY = 0;
const OPCODE_UPDATE = 5;
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE'];
const TSIG_ERRORS: Record<number, string> = { 16: 'BADSIG', 17: 'BADKEY', 18: 'BADTIME', 19: 'BADMODE', 20: 'BADNAME', 21: 'BADALG', 22: 'BADTRUNC' };
const TSIG_FUDGE_S = 300;
const DEFAULT_TIMEOUT_MS = 5_000;
const MAX_VALUES = 64;
/** TSIG algorithm name (as in BIND's key statements) → node:crypto hash. */
const TSIG_ALGORITHMS: Record<string, string> = {
  'hmac-sha1': 'sha1', 'hmac-sha224': 'sha224', 'hmac-sha256': 'sha256', 'hmac-sha384': 'sha384', 'hmac-sha512': 'sha512',
};
const RECORD_TYPES: readonly DnsRecordType[] = ['A', 'AAAA', 'CNAME', 'TXT'];

// ---------------------------------------------------------------- names and values

// letters, digits, hyphen, and underscore (for _acme-challenge-style owner names); no leading/trailing hyphen
const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;

/** A lower-case domain name without the trailing dot; a DnsError INVALID naming `what` otherwise. */
function domainName(raw: unknown, what: string): string {
  if (typeof raw !== 'string' || raw === '') throw invalid(`${what} must be a non-empty domain name`);
  const name = (raw.endsWith('.') ? raw.slice(0, -1) : raw).toLowerCase();
  if (name.length > 253) throw invalid(`${what} "${clip(raw)}" is longer than 253 characters`);
  for (const label of name.split('.')) {
    if (!LABEL.test(label)) {
      throw invalid(`${what} "${clip(raw)}" has an invalid label "${clip(label)}": labels are 1 to 63 letters, digits, "-" or "_", not starting or ending with "-"`);
    }
  }
  return name;
}

function recordType(type: unknown): DnsRecordType {
  if (!RECORD_TYPES.includes(type as DnsRecordType)) throw invalid(`record type ${JSON.stringify(type)} is not supported (one of ${RECORD_TYPES.join(', ')})`);
  return type as DnsRecordType;
}

/** A value in its canonical form (what lookup returns), or a DnsError INVALID saying why not. */
function recordValue(type: DnsRecordType, raw: unknown, owner: string): string {
  if (typeof raw !== 'string') throw invalid(`${type} value must be a string, got ${typeof raw}`);
  switch (type) {
    case 'A':
      if (!isIPv4(raw)) throw invalid(`A value "${clip(raw)}" is not an IPv4 address (dotted quad, e.g. 192.0.2.10)`);
      return raw;
    case 'AAAA':
      if (!isIPv6(raw) || raw.includes('%')) throw invalid(`AAAA value "${clip(raw)}" is not an IPv6 address (e.g. 2001:db8::10, no zone index)`);
      return formatIPv6(parseIPv6(raw));
    case 'CNAME': {
      const target = domainName(raw, 'CNAME value');
      if (!target.includes('.')) throw invalid(`CNAME value "${clip(raw)}" must be a fully qualified host name`);
      if (target === owner) throw invalid(`CNAME value "${clip(raw)}" points at its own name`);
      return target;
    }
    case 'TXT':
      if (raw.length < 1 || raw.length > 255 || !/^[\x20-\x7e]*$/.test(raw)) {
        throw invalid(`TXT value "${clip(raw)}" must be 1 to 255 printable ASCII characters`);
      }
      return raw;
  }
}

function invalid(message: string): DnsError {
  return new DnsError('INVALID', message, { retryable: false });
}

function clip(s: string): string {
  const printable = s.replace(/[^\x20-\x7e]/g, '?');
  return printable.length > 80 ? printable.slice(0, 77) + '...' : printable;
}

function parseIPv6(text: string): Buffer {
  const out = Buffer.alloc(16);
  let s = text;
  let tail: number[] = [];
  // an embedded IPv4 tail (::ffff:192.0.2.1) is the last two groups
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    tail = [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
    s = s.slice(0, -v4[1]!.length);
    if (s.endsWith(':') && !s.endsWith('::')) s = s.slice(0, -1);
  }
  const [head, rest] = s.includes('::') ? s.split('::') as [string, string] : [s, undefined];
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const all = [...left, ...new Array<number>(8 - left.length - right.length - tail.length).fill(0), ...right, ...tail];
  all.forEach((g, i) => out.writeUInt16BE(g, i * 2));
  return out;
}

/** RFC 5952 text: lower-case hex, no leading zeros, the longest run (≥ 2) of zero groups as "::". */
function formatIPv6(bytes: Buffer): string {
  const g = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  // an IPv4-mapped address keeps its dotted tail (RFC 5952 §5), as dig prints it
  if (best === 0 && bestLen === 5 && g[5] === 0xffff) return `::ffff:${Array.from(bytes.subarray(12)).join('.')}`;
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return hex.slice(0, best).join(':') + '::' + hex.slice(best + bestLen).join(':');
}

// ---------------------------------------------------------------- wire format

class Writer {
  private readonly parts: Buffer[] = [];
  u8(v: number): this { const b = Buffer.alloc(1); b.writeUInt8(v); this.parts.push(b); return this; }
  u16(v: number): this { const b = Buffer.alloc(2); b.writeUInt16BE(v); this.parts.push(b); return this; }
  u32(v: number): this { const b = Buffer.alloc(4); b.writeUInt32BE(v); this.parts.push(b); return this; }
  u48(v: number): this { const b = Buffer.alloc(6); b.writeUIntBE(v, 0, 6); this.parts.push(b); return this; }
  bytes(b: Buffer): this { this.parts.push(b); return this; }
  /** Uncompressed and lower-case: the canonical form TSIG digests need, and fine everywhere else. */
  name(name: string): this {
    for (const label of name === '' ? [] : name.toLowerCase().split('.')) {
      const b = Buffer.from(label, 'ascii');
      this.u8(b.length).bytes(b);
    }
    return this.u8(0);
  }
  /** type, class, ttl and rdata with its length. */
  rr(name: string, type: number, klass: number, ttl: number, rdata: Buffer): this {
    return this.name(name).u16(type).u16(klass).u32(ttl).u16(rdata.length).bytes(rdata);
  }
  done(): Buffer { return Buffer.concat(this.parts); }
}

function rdataOf(type: DnsRecordType, value: string): Buffer {
  switch (type) {
    case 'A': return Buffer.from(value.split('.').map(Number));
    case 'AAAA': return parseIPv6(value);
    case 'CNAME': return new Writer().name(value).done();
    case 'TXT': { const s = Buffer.from(value, 'latin1'); return Buffer.concat([Buffer.from([s.length]), s]); }
  }
}

function header(id: number, opcode: number, counts: [number, number, number, number]): Writer {
  return new Writer().u16(id).u16(opcode << 11).u16(counts[0]).u16(counts[1]).u16(counts[2]).u16(counts[3]);
}

interface Rr { name: string; type: number; klass: number; ttl: number; rdata: Buffer; rdataOffset: number; start: number }
interface Parsed { id: number; qr: boolean; opcode: number; rcode: number; answers: Rr[]; additional: Rr[]; msg: Buffer }

function bad(message: string): DnsError {
  return new DnsError('BADRESPONSE', `the DNS server's answer is malformed: ${message}`, { retryable: false });
}

/** A (possibly compressed) name at `offset`: the name and the offset after it in the record. */
function readName(msg: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  for (let jumps = 0; ; ) {
    if (pos >= msg.length) throw bad('a name runs past the end');
    const len = msg[pos]!;
    if (len === 0) { pos++; break; }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= msg.length) throw bad('a compression pointer runs past the end');
      if (++jumps > 64) throw bad('a compression pointer loop');
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | msg[pos + 1]!;
      continue;
    }
    if (len > 63 || pos + 1 + len > msg.length) throw bad('a label runs past the end');
    labels.push(msg.toString('latin1', pos + 1, pos + 1 + len).toLowerCase());
    pos += 1 + len;
  }
  return { name: labels.join('.'), next: next < 0 ? pos : next };
}

function parse(msg: Buffer): Parsed {
  if (msg.length < 12) throw bad(`${msg.length} bytes, shorter than a header`);
  const flags = msg.readUInt16BE(2);
  const counts = [msg.readUInt16BE(4), msg.readUInt16BE(6), msg.readUInt16BE(8), msg.readUInt16BE(10)] as const;
  let pos = 12;
  for (let i = 0; i < counts[0]; i++) {
    pos = readName(msg, pos).next + 4;
  }
  const section = (n: number): Rr[] => {
    const out: Rr[] = [];
    for (let i = 0; i < n; i++) {
      const start = pos;
      const { name, next } = readName(msg, pos);
      if (next + 10 > msg.length) throw bad('a record header runs past the end');
      const rdlen = msg.readUInt16BE(next + 8);
      if (next + 10 + rdlen > msg.length) throw bad('a record runs past the end');
      out.push({ name, type: msg.readUInt16BE(next), klass: msg.readUInt16BE(next + 2), ttl: msg.readUInt32BE(next + 4), rdata: msg.subarray(next + 10, next + 10 + rdlen), rdataOffset: next + 10, start });
      pos = next + 10 + rdlen;
    }
    return out;
  };
  const answers = section(counts[1]);
  section(counts[2]);
  const additional = section(counts[3]);
  return { id: msg.readUInt16BE(0), qr: (flags & 0x8000) !== 0, opcode: (flags >> 11) & 0xf, rcode: flags & 0xf, answers, additional, msg };
}

function valueOf(type: DnsRecordType, rr: Rr, msg: Buffer): string {
  switch (type) {
    case 'A':
      if (rr.rdata.length !== 4) throw bad('an A record is not 4 bytes');
      return Array.from(rr.rdata).join('.');
    case 'AAAA':
      if (rr.rdata.length !== 16) throw bad('an AAAA record is not 16 bytes');
      return formatIPv6(rr.rdata);
    case 'CNAME':
      return readName(msg, rr.rdataOffset).name;
    case 'TXT': {
      // one record may hold several character-strings; they are one value
      let s = '';
      for (let i = 0; i < rr.rdata.length; ) {
        const len = rr.rdata[i]!;
        if (i + 1 + len > rr.rdata.length) throw bad('a TXT string runs past its record');
        s += rr.rdata.toString('latin1', i + 1, i + 1 + len);
        i += 1 + len;
      }
      return s;
    }
  }
}

// ---------------------------------------------------------------- TSIG (RFC 8945)

interface TsigKey { name: string; algorithm: string; hash: string; secret: Buffer }

function tsigVariables(key: TsigKey, timeSigned: number, fudge: number, error: number, other: Buffer): Buffer {
  return new Writer().name(key.name).u16(CLASS_ANY).u32(0).name(key.algorithm).u48(timeSigned).u16(fudge).u16(error).u16(other.length).bytes(other).done();
}

/** The message with its TSIG record appended (ARCOUNT + 1), and the MAC the answer's MAC covers. */
function sign(msg: Buffer, key: TsigKey): { signed: Buffer; mac: Buffer } {
  const id = msg.readUInt16BE(0);
  const timeSigned = Math.floor(Date.now() / 1000);
  const mac = createHmac(key.hash, key.secret).update(msg).update(tsigVariables(key, timeSigned, TSIG_FUDGE_S, 0, Buffer.alloc(0))).digest();
  const rdata = new Writer().name(key.algorithm).u48(timeSigned).u16(TSIG_FUDGE_S).u16(mac.length).bytes(mac).u16(id).u16(0).u16(0).done();
  const signed = Buffer.concat([msg, new Writer().rr(key.name, TYPE.TSIG, CLASS_ANY, 0, rdata).done()]);
  signed.writeUInt16BE(msg.readUInt16BE(10) + 1, 10);
  return { signed, mac };
}

/**
 * Checks the answer's TSIG against the request MAC. A TSIG error (BADSIG, BADKEY, BADTIME) comes back
 * unsigned — the server could not verify us — and becomes the DnsError of its rcode, as does any other
 * unsigned error; an answer that is to be believed must carry a MAC made with our key, so a forged
 * "NOERROR" (or NXDOMAIN) is never taken. The rcode of a verified answer is the caller's to judge.
 */
function verify(res: Parsed, key: TsigKey, requestMac: Buffer): void {
  const last = res.additional.at(-1);
  const rcode = RCODES[res.rcode] ?? `RCODE${res.rcode}`;
  if (!last || last.type !== TYPE.TSIG) {
    if (res.rcode !== 0) throw rcodeError(rcode, undefined);
    throw new DnsError('BADRESPONSE', 'the DNS server answered without a TSIG signature', { retryable: false });
  }
  const r = last.rdata;
  const off = last.rdataOffset;
  const alg = readName(res.msg, off);
  const p = alg.next;
  if (p + 10 > off + r.length) throw bad('a TSIG record is truncated');
  const timeSigned = res.msg.readUIntBE(p, 6);
  const fudge = res.msg.readUInt16BE(p + 6);
  const macLen = res.msg.readUInt16BE(p + 8);
  if (p + 10 + macLen + 6 > off + r.length) throw bad('a TSIG record is truncated');
  const mac = res.msg.subarray(p + 10, p + 10 + macLen);
  const originalId = res.msg.readUInt16BE(p + 10 + macLen);
  const error = res.msg.readUInt16BE(p + 12 + macLen);
  const otherLen = res.msg.readUInt16BE(p + 14 + macLen);
  const other = res.msg.subarray(p + 16 + macLen, p + 16 + macLen + otherLen);
  if (error !== 0) throw rcodeError(rcode === 'NOERROR' ? 'NOTAUTH' : rcode, TSIG_ERRORS[error] ?? `TSIG error ${error}`);
  if (last.name !== key.name || alg.name !== key.algorithm) throw new DnsError('BADRESPONSE', `the DNS server signed its answer with key ${last.name} (${alg.name}), not ${key.name}`, { retryable: false });
  // the digest covers the answer as it was before the TSIG was added: original id, ARCOUNT - 1
  const unsigned = Buffer.from(res.msg.subarray(0, last.start));
  unsigned.writeUInt16BE(originalId, 0);
  unsigned.writeUInt16BE(res.msg.readUInt16BE(10) - 1, 10);
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(requestMac.length);
  const expected = createHmac(key.hash, key.secret).update(prefix).update(requestMac).update(unsigned).update(tsigVariables(key, timeSigned, fudge, error, other)).digest();
  if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) {
    throw new DnsError('BADRESPONSE', 'the TSIG signature of the DNS server\'s answer does not match the key', { retryable: false });
  }
}

function rcodeError(rcode: string, tsigError: string | undefined): DnsError {
  const tsigWhy: Record<string, string> = {
    BADSIG: 'the TSIG signature does not match: the secret (or algorithm) differs from the server\'s key',
    BADKEY: 'the server knows no TSIG key of this name and algorithm',
    BADTIME: 'the clocks of Ringmaster and the DNS server differ by more than 300 s',
  };
  const why: Record<string, string> = {
    NOTAUTH: tsigError ? (tsigWhy[tsigError] ?? 'the server did not accept the TSIG signature') : 'the server is not authoritative for the zone or the key may not update it',
    REFUSED: 'the server refused the request (the key may not update this zone, or the zone is not served there)',
    NOTZONE: 'the name is not inside the zone',
    SERVFAIL: 'the server failed to process the request',
    FORMERR: 'the server could not parse the request',
    NOTIMP: 'the server does not implement this request',
  };
  return new DnsError(rcode, `DNS server answered ${rcode}${tsigError ? ` (${tsigError})` : ''}: ${why[rcode] ?? 'the request failed'}`, { tsigError });
}

// ---------------------------------------------------------------- transport

/** One request/answer over TCP (RFC 1035 §4.2.2: two-byte length prefix), within `timeoutMs`. */
function exchange(server: { host: string; port: number }, msg: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const where = `${server.host}:${server.port}`;
    const socket = connect({ host: server.host, port: server.port });
    let buf = Buffer.alloc(0);
    let settled = false;
    const finish = (err: DnsError | null, answer?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(answer!);
    };
    const timer = setTimeout(() => finish(new DnsError('TIMEOUT', `DNS server ${where} did not answer within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(msg.length);
      socket.write(Buffer.concat([len, msg]));
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) finish(null, buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(new DnsError('NETWORK', `DNS server ${where} cannot be reached: ${err.code ?? err.message}`, { cause: err })));
    socket.on('close', () => finish(new DnsError('NETWORK', `DNS server ${where} closed the connection before answering`)));
  });
}

// ---------------------------------------------------------------- the provider

class Rfc2136Provider implements DnsProvider {
  readonly kind = 'rfc2136';
  readonly zone: string;
  private readonly key: TsigKey;
  private readonly server: { host: string; port: number };
  private readonly timeoutMs: number;

  constructor(config: DnsConfig) {
    this.zone = domainName(config.zone, 'zone');
    const algorithm = (config.tsig.algorithm || 'hmac-sha256').toLowerCase();
    const hash = TSIG_ALGORITHMS[algorithm];
    if (!hash) throw invalid(`TSIG algorithm "${clip(config.tsig.algorithm)}" is not supported (one of ${Object.keys(TSIG_ALGORITHMS).join(', ')})`);
    this.key = { name: domainName(config.tsig.name, 'TSIG key name'), algorithm, hash, secret: base64Secret(config.tsig.secret, 'TSIG secret') };
    if (!config.server.host || !Number.isInteger(config.server.port) || config.server.port < 1 || config.server.port > 65535) {
      throw invalid(`DNS server "${clip(String(config.server.host))}:${config.server.port}" is not a host and a port 1-65535`);
    }
    this.server = { host: config.server.host, port: config.server.port };
    this.timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  async lookup(name: string, type: DnsRecordType): Promise<string[]> {
    const owner = this.owner(name);
    const t = recordType(type);
    const msg = header(randomId(), OPCODE_QUERY, [1, 0, 0, 0]).name(owner).u16(TYPE[t]).u16(CLASS_IN).done();
    const res = await this.send(msg, OPCODE_QUERY, (rcode) => rcode === 3 /* NXDOMAIN: no such name, so no values */);
    // only records owned by this very name: an A query at a CNAME also answers the target's addresses
    return res.answers.filter((rr) => rr.name === owner && rr.type === TYPE[t] && rr.klass === CLASS_IN).map((rr) => valueOf(t, rr, res.msg));
  }

  async upsert(record: DnsRecord): Promise<void> {
    const owner = this.owner(record.name);
    const t = recordType(record.type);
    if (!Number.isInteger(record.ttl) || record.ttl < 0 || record.ttl > 2_147_483_647) throw invalid(`TTL ${JSON.stringify(record.ttl)} must be a whole number of seconds from 0 to 2147483647`);
    if (!Array.isArray(record.values) || record.values.length === 0) throw invalid(`${owner} ${t} needs at least one value (remove() deletes the record)`);
    if (record.values.length > MAX_VALUES) throw invalid(`${owner} ${t} has ${record.values.length} values, more than ${MAX_VALUES}`);
    const values = [...new Set(record.values.map((v) => recordValue(t, v, owner)))];
    if (t === 'CNAME' && values.length > 1) throw invalid(`${owner} CNAME must have exactly one value, got ${values.length}`);
    if (t === 'CNAME' && owner === this.zone) throw invalid(`a CNAME cannot be at the zone apex ${this.zone} (it holds SOA and NS)`);
    // one message: delete the RRset, add the new one — the server applies both or neither
    const w = header(randomId(), OPCODE_UPDATE, [1, 0, 1 + values.length, 0]).name(this.zone).u16(TYPE.SOA).u16(CLASS_IN);
    w.rr(owner, TYPE[t], CLASS_ANY, 0, Buffer.alloc(0));
    for (const v of values) w.rr(owner, TYPE[t], CLASS_IN, record.ttl, rdataOf(t, v));
    await this.send(w.done(), OPCODE_UPDATE);
    // BIND answers NOERROR yet ignores a CNAME next to other data (and data next to a CNAME): read back
    const now = await this.lookup(owner, t);
    const same = now.length === values.length && values.every((v) => now.includes(v));
    if (!same) {
      throw new DnsError('CONFLICT', `the server accepted the update of ${owner} ${t} but serves [${now.join(', ')}] instead of [${values.join(', ')}]: a CNAME cannot share its name with other records`, { retryable: false });
    }
  }

  async remove(name: string, type: DnsRecordType): Promise<void> {
    const owner = this.owner(name);
    const t = recordType(type);
    // deleting an RRset that does not exist is a no-op for the server, hence idempotent
    const msg = header(randomId(), OPCODE_UPDATE, [1, 0, 1, 0]).name(this.zone).u16(TYPE.SOA).u16(CLASS_IN).rr(owner, TYPE[t], CLASS_ANY, 0, Buffer.alloc(0)).done();
    await this.send(msg, OPCODE_UPDATE);
  }

  private owner(name: string): string {
    const owner = domainName(name, 'record name');
    if (owner !== this.zone && !owner.endsWith('.' + this.zone)) throw invalid(`record name "${clip(name)}" is not inside the zone ${this.zone}`);
    return owner;
  }

  private async send(msg: Buffer, opcode: number, accept: (rcode: number) => boolean = () => false): Promise<Parsed> {
    const { signed, mac } = sign(msg, this.key);
    const answer = await exchange(this.server, signed, this.timeoutMs);
    let res: Parsed;
    try {
      res = parse(answer);
      if (!res.qr || res.id !== msg.readUInt16BE(0) || res.opcode !== opcode) throw bad('it does not answer our request (id, flags or opcode differ)');
      verify(res, this.key, mac);
    } catch (err) {
      // a bounds error of a Buffer read is a truncated answer as well
      throw err instanceof DnsError ? err : bad((err as Error).message);
    }
    if (res.rcode !== 0 && !accept(res.rcode)) throw rcodeError(RCODES[res.rcode] ?? `RCODE${res.rcode}`, undefined);
    return res;
  }
}

function randomId(): number {
  return randomBytes(2).readUInt16BE(0);
}

function base64Secret(secret: unknown, what: string): Buffer {
  const s = typeof secret === 'string' ? secret.trim() : '';
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s) || s.length % 4 !== 0) throw invalid(`${what} must be base64 (as tsig-keygen prints it)`);
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length < 16) throw invalid(`${what} is ${bytes.length} bytes, too short for a TSIG key (16 or more)`);
  return bytes;
}

export function createDnsProvider(config: DnsConfig): DnsProvider {
  return new Rfc2136Provider(config);
}

/**
 * From RINGMASTER_DNS_SERVER (host:port, default port 53; [v6]:port), RINGMASTER_DNS_ZONE,
 * RINGMASTER_DNS_TSIG_KEY_NAME, RINGMASTER_DNS_TSIG_ALGORITHM (default hmac-sha256),
 * RINGMASTER_DNS_TSIG_SECRET_FILE (the base64 secret, or a BIND key statement holding it) or
 * RINGMASTER_DNS_TSIG_SECRET. null when RINGMASTER_DNS_SERVER is unset; an Error naming the variable
 * when one is malformed or missing. The secret itself never appears in a message.
 */
export function dnsConfigFromEnv(env: NodeJS.ProcessEnv): DnsConfig | null {
  const raw = env.RINGMASTER_DNS_SERVER?.trim();
  if (!raw) return null;
  const server = hostPort(raw);
  const zone = required(env, 'RINGMASTER_DNS_ZONE');
  const keyName = required(env, 'RINGMASTER_DNS_TSIG_KEY_NAME');
  named('RINGMASTER_DNS_ZONE', () => domainName(zone, 'zone'));
  named('RINGMASTER_DNS_TSIG_KEY_NAME', () => domainName(keyName, 'TSIG key name'));
  const algorithm = (env.RINGMASTER_DNS_TSIG_ALGORITHM?.trim() || 'hmac-sha256').toLowerCase();
  if (!TSIG_ALGORITHMS[algorithm]) throw new Error(`RINGMASTER_DNS_TSIG_ALGORITHM "${clip(algorithm)}" is not supported (one of ${Object.keys(TSIG_ALGORITHMS).join(', ')})`);
  const file = env.RINGMASTER_DNS_TSIG_SECRET_FILE?.trim();
  const inline = env.RINGMASTER_DNS_TSIG_SECRET?.trim();
  if (file && inline) throw new Error('set only one of RINGMASTER_DNS_TSIG_SECRET_FILE and RINGMASTER_DNS_TSIG_SECRET');
  let secret: string;
  let source: string;
  if (file) {
    source = 'RINGMASTER_DNS_TSIG_SECRET_FILE';
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new Error(`RINGMASTER_DNS_TSIG_SECRET_FILE ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    // tsig-keygen / ddns-confgen write a key statement; accept it as well as the bare secret
    secret = (/secret\s+"([^"]+)"/.exec(text)?.[1] ?? text).trim();
  } else if (inline) {
    source = 'RINGMASTER_DNS_TSIG_SECRET';
    secret = inline;
  } else {
    throw new Error('RINGMASTER_DNS_TSIG_SECRET_FILE (or RINGMASTER_DNS_TSIG_SECRET) is required when RINGMASTER_DNS_SERVER is set');
  }
  named(source, () => base64Secret(secret, 'the TSIG secret'));
  return { server, zone: domainName(zone, 'zone'), tsig: { name: domainName(keyName, 'TSIG key name'), algorithm, secret } };
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name]?.trim();
  if (!v) throw new Error(`${name} is required when RINGMASTER_DNS_SERVER is set`);
  return v;
}

/** Runs a check and prefixes its message with the variable it came from. */
function named(variable: string, check: () => unknown): void {
  try {
    check();
  } catch (err) {
    throw new Error(`${variable}: ${(err as Error).message}`);
  }
}

function hostPort(raw: string): { host: string; port: number } {
  const fail = () => new Error(`RINGMASTER_DNS_SERVER "${clip(raw)}" must be host:port (port 1-65535, default 53; IPv6 as [addr]:port)`);
  let host: string;
  let port = '53';
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(raw);
  if (v6) {
    host = v6[1]!;
    port = v6[2] ?? '53';
    if (!isIPv6(host)) throw fail();
  } else if (isIPv6(raw)) {
    host = raw;
  } else {
    const m = /^([A-Za-z0-9.-]+)(?::(\d+))?$/.exec(raw);
    if (!m) throw fail();
    host = m[1]!;
    port = m[2] ?? '53';
  }
  const n = Number(port);
  if (!/^\d+$/.test(port) || n < 1 || n > 65535) throw fail();
  return { host, port: n };
}
