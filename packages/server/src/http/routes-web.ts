import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Where the dashboard bundle is built (`npm run build -w packages/web`); RINGMASTER_WEB_ROOT overrides it. */
export function defaultWebRoot(): string {
  return process.env.RINGMASTER_WEB_ROOT ?? fileURLToPath(new URL('../../../web/build/', import.meta.url));
}

/**
 * Serves the dashboard: hashed assets under /assets (cached for good), and index.html for every
 * other GET outside /api so that links into the single-page app (e.g. /changes?app=shop) work.
 */
export async function registerWebRoutes(app: FastifyInstance, options: { root?: string } = {}): Promise<void> {
  const root = options.root ?? defaultWebRoot();
  const built = existsSync(join(root, 'index.html'));
  if (built) {
    await app.register(fastifyStatic, {
      root: join(root, 'assets'),
      prefix: '/assets/',
      immutable: true,
      maxAge: '365d',
      index: false,
    });
    if (existsSync(join(root, 'favicon.svg'))) {
      app.get('/favicon.svg', (_req, reply) => reply.sendFile('favicon.svg', root, { maxAge: '1d' }));
    }
  }
  const page = async (req: { url: string }, reply: import('fastify').FastifyReply) => {
    const path = req.url.split('?')[0]!;
    if (path === '/api' || path.startsWith('/api/') || path.startsWith('/assets/')) {
      return reply.status(404).send({ error: { code: 'RINGMASTER_NOT_FOUND', message: `no route GET ${path}` } });
    }
    if (!built) {
      return reply.status(503).type('text/plain; charset=utf-8')
        .send(`The dashboard is not built (no ${join(root, 'index.html')}). Run: npm run build -w packages/web\n`);
    }
    // the page names the current hashed assets: always revalidated, unlike the assets themselves
    return reply.header('cache-control', 'no-cache').sendFile('index.html', root, { cacheControl: false });
  };
  app.get('/', page);
  app.get('/*', page);
}
