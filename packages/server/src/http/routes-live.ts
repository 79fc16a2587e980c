import type { FastifyInstance } from 'fastify';
import type { LiveUpdate } from '../journey/live-feed.ts';
import type { ControlPlane } from '../control-plane.ts';

const COALESCE_MS = 250;
const HEARTBEAT_MS = 15_000;

/**
 * GET /stream: server-sent events. Updates are merged over a short window so a batch of thousands
 * of events becomes one message. Browsers read it with fetch (not EventSource) so the bearer token
 * travels in a header, never in a URL that ends up in logs.
 */
export async function registerLiveRoutes(api: FastifyInstance, plane: Pick<ControlPlane, 'live'>): Promise<void> {
  const feed = plane.live;
  // Open streams never end by themselves: end them when the server closes, or close would wait forever.
  const open = new Set<() => void>();
  api.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });
  api.get('/stream', { config: { role: 'viewer' } }, async (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    let seq = 0;
    res.write(`retry: 2000\nevent: hello\ndata: ${JSON.stringify({ at: new Date().toISOString() })}\n\n`);
    let pending: Omit<LiveUpdate, 'at'> | undefined;
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      if (!pending) return;
      const update: LiveUpdate = { ...pending, at: new Date().toISOString() };
      pending = undefined;
      res.write(`id: ${++seq}\nevent: update\ndata: ${JSON.stringify(update)}\n\n`);
    };
    const merge = (a: string[], b: string[]) => [...new Set([...a, ...b])].slice(0, 500);
    const unsubscribe = feed.subscribe((u) => {
      pending = pending
        ? { kinds: merge(pending.kinds, u.kinds), changes: merge(pending.changes, u.changes), clusters: merge(pending.clusters, u.clusters), releases: merge(pending.releases, u.releases) }
        : { kinds: u.kinds, changes: u.changes.slice(0, 500), clusters: u.clusters.slice(0, 500), releases: u.releases.slice(0, 500) };
      timer ??= setTimeout(flush, COALESCE_MS);
    });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    const close = () => {
      open.delete(end);
      unsubscribe();
      clearInterval(heartbeat);
      if (timer) clearTimeout(timer);
    };
    const end = () => {
      close();
      res.end();
    };
    open.add(end);
    req.raw.on('close', close);
    res.on('error', close);
  });
}
