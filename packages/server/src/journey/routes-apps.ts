import type { FastifyInstance } from 'fastify';
import type { ControlPlane } from '../control-plane.ts';
import { parseInput } from '../http/errors.ts';
import * as s from '../http/schemas.ts';

/** Apps, their teams, contacts and repositories, under /api/v1 (inside the authenticated scope). */
export async function registerAppRoutes(api: FastifyInstance, plane: Pick<ControlPlane, 'storage' | 'directory'>): Promise<void> {
  const { storage, directory } = plane;
  api.get('/apps', { config: { role: 'viewer' } }, async () => {
    const [apps, repos] = await Promise.all([
      storage.db.selectFrom('apps').selectAll().orderBy('app').limit(10_000).execute(),
      storage.db.selectFrom('app_repositories').selectAll().execute(),
    ]);
    return {
      apps: apps.map((a) => ({
        app: a.app, team: a.team, contacts: a.contacts ? (JSON.parse(a.contacts) as string[]) : [],
        repositories: repos.filter((r) => r.app === a.app).map((r) => r.repository),
      })),
    };
  });
  api.put<{ Params: { app: string } }>('/apps/:app', { config: { role: 'admin' } }, async (req) => {
    const appName = parseInput(s.appName, req.params.app, ['app']);
    const body = parseInput(s.appBody, req.body);
    req.audit = { target: `app/${appName}` };
    const now = Date.now();
    directory.clear();
    await storage.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('apps').selectAll().where('app', '=', appName).executeTakeFirst();
      const team = body.team === undefined ? existing?.team ?? null : body.team;
      const contactsJson = body.contacts === undefined ? existing?.contacts ?? null : JSON.stringify(body.contacts);
      await trx.insertInto('apps').values({ app: appName, team, contacts: contactsJson, updated_at: now })
        .onConflict((oc) => oc.column('app').doUpdateSet({ team, contacts: contactsJson, updated_at: now })).execute();
      if (body.repositories) {
        await trx.deleteFrom('app_repositories').where('app', '=', appName).execute();
        for (const repository of body.repositories) {
          await trx.insertInto('app_repositories').values({ repository, app: appName })
            .onConflict((oc) => oc.column('repository').doUpdateSet({ app: appName })).execute();
        }
      }
      // the team is denormalised onto changes so that team filters and DORA stay index lookups
      if (body.team !== undefined) {
        await trx.updateTable('changes').set({ team }).where('app', '=', appName).execute();
        await trx.updateTable('change_rings').set({ team }).where('app', '=', appName).execute();
        await trx.updateTable('incidents').set({ team }).where('app', '=', appName).execute();
      }
    });
    directory.clear(); // again: a request in flight may have cached the old mapping meanwhile
    return { app: appName, team: body.team ?? null, repositories: body.repositories, contacts: body.contacts };
  });
}
