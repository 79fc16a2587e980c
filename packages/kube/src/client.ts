import https from 'node:https';
import http from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeApiError, KubeObjectError, KubeUnreachableError, isStatus } from './errors.ts';
import { groupOf, type KubeObject, type ObjectRef } from '@ringmaster/kube-common';
import { refOf } from './object.ts';

/** How a kind is served: its plural resource name and whether it lives in a namespace. */
export interface ResourceInfo {
  apiVersion: string;
  kind: string;
  resource: string;
  namespaced: boolean;
  subresources: string[];
}

/** Options of one raw API request. */
export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Milliseconds before a non-streaming request is abandoned (default 30 s). */
  timeoutMs?: number;
  /** Abandons the request (and its connection) when aborted. */
  signal?: AbortSignal;
}

/** A list answer: raw items plus the list's resourceVersion (the point a watch resumes from). */
export interface ObjectList {
  items: KubeObject[];
  resourceVersion: string;
}

interface DiscoveryResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

/**
 * A small generic client speaking raw JSON to the API server. Authentication and TLS come from
 * @kubernetes/client-node's KubeConfig; objects are never passed through its typed serializer, so
 * live objects keep every field (managedFields times, fields newer than the client's models)
 * byte for byte, which drift detection and attribution need.
 */
export class KubeClient {
  readonly kubeConfig: KubeConfig;
  private readonly discovery = new Map<string, Promise<DiscoveryResource[]>>();

  constructor(kubeConfig: KubeConfig) {
    this.kubeConfig = kubeConfig;
  }

  /** A client for a kubeconfig file (current context). */
  static fromFile(path: string): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromFile(path);
    return new KubeClient(kc);
  }

  /** A client for kubeconfig text (YAML or JSON), e.g. one kept in Ringmaster's database. */
  static fromString(kubeconfig: string, context?: string): KubeClient {
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfig);
    if (context) kc.setCurrentContext(context);
    return new KubeClient(kc);
  }

  /**
   * This client with every request tied to `signal` (same connections and discovery cache): work
   * given it — an apply of many objects, a health read — stops at its next request once aborted.
   */
  withSignal(signal: AbortSignal): KubeClient {
    const view = Object.create(this) as KubeClient;
    view.request = <T>(method: string, path: string, opts: RequestOptions = {}) => this.request<T>(method, path, { ...opts, signal: opts.signal ?? signal });
    return view;
  }

  /** The API server URL of the current context. */
  get server(): string {
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new KubeObjectError('the kubeconfig has no current cluster');
    return cluster.server;
  }

  /** Sends one request and returns the parsed JSON answer; non-2xx answers throw KubeApiError. */
  async request<T = unknown>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, opts, opts.signal);
    const text = await readBody(res);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw apiError(status, text, method, path);
    if (text === '') return undefined as T;
    // health endpoints (/readyz, /livez) answer plain text
    return (String(res.headers['content-type'] ?? '').includes('json') ? JSON.parse(text) : text) as T;
  }

  /** Opens a request and hands back the response stream (used by watches; no client-side timeout). */
  async stream(path: string, query: RequestOptions['query'], signal: AbortSignal): Promise<http.IncomingMessage> {
    const res = await this.send('GET', path, { query, timeoutMs: 0 }, signal);
    // a peer that vanished without closing the connection is noticed by TCP keepalive
    res.socket.setKeepAlive(true, 30_000);
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) throw apiError(status, await readBody(res), 'GET', path);
    return res;
  }

  private async send(method: string, path: string, opts: RequestOptions, signal?: AbortSignal): Promise<http.IncomingMessage> {
    const url = new URL(this.server.replace(/\/$/, '') + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const reqOpts: https.RequestOptions = {
      method,
      headers: { Accept: 'application/json' },
    };
    await this.kubeConfig.applyToHTTPSOptions(reqOpts);
    // client-node makes a fresh Agent per call (one TLS handshake per request); reuse connections instead
    reqOpts.agent = this.agentFor(reqOpts);
    let payload: string | undefined;
    if (opts.body !== undefined) {
      payload = JSON.stringify(opts.body);
      (reqOpts.headers as Record<string, string | number>)['Content-Type'] = opts.contentType ?? 'application/json';
      (reqOpts.headers as Record<string, string | number>)['Content-Length'] = Buffer.byteLength(payload);
    }
    const transport = url.protocol === 'http:' ? http : https;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, { ...reqOpts, ...(signal ? { signal } : {}) }, resolve);
      const timeoutMs = opts.timeoutMs ?? 30_000;
      if (timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
      req.on('error', (err) => reject(new KubeUnreachableError(`${method} ${url.origin}${url.pathname}: ${err.message}`, { cause: err })));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  private agent: https.Agent | undefined;

  private agentFor(o: https.RequestOptions): https.Agent {
    this.agent ??= new https.Agent({
      keepAlive: true,
      ca: o.ca,
      cert: o.cert,
      key: o.key,
      pfx: o.pfx,
      passphrase: o.passphrase,
      servername: o.servername,
      ...(o.rejectUnauthorized !== undefined ? { rejectUnauthorized: o.rejectUnauthorized } : {}),
    });
    return this.agent;
  }

  /** Closes pooled connections (idle ones close by themselves; call when done with a short-lived client). */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }

  /** Finds the resource serving a kind; refreshes discovery once when the kind is unknown (new CRD). */
  async resourceFor(apiVersion: string, kind: string): Promise<ResourceInfo> {
    let found = (await this.discover(apiVersion)).find((r) => r.kind === kind && !r.name.includes('/'));
    if (!found) {
      this.discovery.delete(apiVersion);
      found = (await this.discover(apiVersion)).find((r) => r.kind === kind && !r.name.includes('/'));
    }
    if (!found) throw new KubeObjectError(`the API server does not serve kind ${kind} in ${apiVersion}: install its CustomResourceDefinition first or fix apiVersion/kind`);
    const all = await this.discover(apiVersion);
    const subresources = all.filter((r) => r.name.startsWith(found.name + '/')).map((r) => r.name.slice(found.name.length + 1));
    return { apiVersion, kind, resource: found.name, namespaced: found.namespaced, subresources };
  }

  /** Forgets cached discovery (after CRDs change). */
  invalidateDiscovery(): void {
    this.discovery.clear();
  }

  private discover(apiVersion: string): Promise<DiscoveryResource[]> {
    let cached = this.discovery.get(apiVersion);
    if (!cached) {
      const path = groupOf(apiVersion) === '' ? `/api/${apiVersion}` : `/apis/${apiVersion}`;
      cached = this.request<{ resources: DiscoveryResource[] }>('GET', path)
        .then((r) => r.resources)
        .catch((err: unknown) => {
          this.discovery.delete(apiVersion);
          if (isStatus(err, 404)) return [];
          throw err;
        });
      this.discovery.set(apiVersion, cached);
    }
    return cached;
  }

  /** The URL path of a collection (`namespace` ignored for cluster-scoped kinds). */
  async collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    const info = await this.resourceFor(apiVersion, kind);
    const base = groupOf(apiVersion) === '' ? `/api/${apiVersion}` : `/apis/${apiVersion}`;
    const ns = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    return `${base}${ns}/${info.resource}`;
  }

  /** The URL path of one object, optionally of its subresource (e.g. "status"). */
  async objectPath(ref: ObjectRef, subresource?: string): Promise<string> {
    const info = await this.resourceFor(ref.apiVersion, ref.kind);
    if (info.namespaced && !ref.namespace) throw new KubeObjectError(`${ref.kind} ${ref.name} is namespaced but has no metadata.namespace`);
    const base = groupOf(ref.apiVersion) === '' ? `/api/${ref.apiVersion}` : `/apis/${ref.apiVersion}`;
    const ns = info.namespaced ? `/namespaces/${encodeURIComponent(ref.namespace!)}` : '';
    return `${base}${ns}/${info.resource}/${encodeURIComponent(ref.name)}${subresource ? '/' + subresource : ''}`;
  }

  /** Reads one live object; undefined when it does not exist. */
  async get(ref: ObjectRef): Promise<KubeObject | undefined> {
    try {
      return await this.request<KubeObject>('GET', await this.objectPath(ref));
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  /** Lists objects of a kind (all namespaces when `namespace` is absent), following continue tokens. */
  async list(apiVersion: string, kind: string, opts: { namespace?: string; labelSelector?: string; fieldSelector?: string } = {}): Promise<ObjectList> {
    const path = await this.collectionPath(apiVersion, kind, opts.namespace);
    const items: KubeObject[] = [];
    let cont: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.request<{ items: KubeObject[]; metadata: { resourceVersion?: string; continue?: string } }>('GET', path, {
        query: { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: 500, continue: cont },
      });
      // list items come without apiVersion/kind; put them back so each item is a complete object
      for (const it of page.items) items.push({ ...it, apiVersion, kind });
      resourceVersion = page.metadata.resourceVersion ?? resourceVersion;
      cont = page.metadata.continue || undefined;
    } while (cont);
    return { items, resourceVersion };
  }

  /** Server-side apply of one object; returns the object as stored (or as it would be, with dryRun). */
  async apply(obj: KubeObject, opts: { fieldManager: string; force?: boolean; dryRun?: boolean; subresource?: string }): Promise<KubeObject> {
    const ref = refOf(obj);
    return this.request<KubeObject>('PATCH', await this.objectPath(ref, opts.subresource), {
      body: obj,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: opts.fieldManager, force: opts.force ? true : undefined, dryRun: opts.dryRun ? 'All' : undefined },
    });
  }

  /** JSON merge patch (RFC 7386) — the patch type custom resources accept, unlike strategic merge. */
  async mergePatch(ref: ObjectRef, patch: unknown, opts: { fieldManager?: string; subresource?: string; dryRun?: boolean } = {}): Promise<KubeObject> {
    return this.request<KubeObject>('PATCH', await this.objectPath(ref, opts.subresource), {
      body: patch,
      contentType: 'application/merge-patch+json',
      query: { fieldManager: opts.fieldManager, dryRun: opts.dryRun ? 'All' : undefined },
    });
  }

  /** Creates an object (POST), with a field manager. */
  async create(obj: KubeObject, opts: { fieldManager?: string; dryRun?: boolean } = {}): Promise<KubeObject> {
    if (!obj.apiVersion || !obj.kind) throw new KubeObjectError('cannot create an object without apiVersion and kind');
    return this.request<KubeObject>('POST', await this.collectionPath(obj.apiVersion, obj.kind, obj.metadata.namespace), {
      body: obj,
      query: { fieldManager: opts.fieldManager, dryRun: opts.dryRun ? 'All' : undefined },
    });
  }

  /** Replaces an object (PUT, an "Update" operation in managedFields, as `kubectl edit` does). */
  async update(obj: KubeObject, opts: { fieldManager?: string; subresource?: string } = {}): Promise<KubeObject> {
    return this.request<KubeObject>('PUT', await this.objectPath(refOf(obj), opts.subresource), { body: obj, query: { fieldManager: opts.fieldManager } });
  }

  /** Deletes an object (background propagation); false when it was already gone. */
  async delete(ref: ObjectRef, opts: { dryRun?: boolean; preconditionUid?: string } = {}): Promise<boolean> {
    try {
      await this.request('DELETE', await this.objectPath(ref), {
        // with a body the server ignores query parameters, so dryRun must be in DeleteOptions
        body: {
          kind: 'DeleteOptions',
          apiVersion: 'v1',
          propagationPolicy: 'Background',
          ...(opts.dryRun ? { dryRun: ['All'] } : {}),
          ...(opts.preconditionUid ? { preconditions: { uid: opts.preconditionUid } } : {}),
        },
      });
      return true;
    } catch (err) {
      if (isStatus(err, 404)) return false;
      throw err;
    }
  }
}

function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    // an aborted request closes the answer half-read: settle instead of waiting forever
    res.on('close', () => {
      if (!res.complete) reject(new KubeUnreachableError('the answer was cut off (request aborted or connection lost)'));
    });
  });
}

function apiError(status: number, text: string, method: string, path: string): KubeApiError {
  let reason: string | undefined;
  let message = text.slice(0, 500);
  let details: unknown;
  try {
    const s = JSON.parse(text) as { reason?: string; message?: string; details?: unknown };
    reason = s.reason;
    message = s.message ?? message;
    details = s.details;
  } catch {
    // not a Status object; keep the raw text
  }
  return new KubeApiError(status, reason, `${method} ${path}: ${status} ${reason ?? ''}: ${message}`.replace(/ {2,}/g, ' '), details);
}
