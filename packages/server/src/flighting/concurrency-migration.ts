import type { Kysely, Migration } from 'kysely';

/** Columns of concurrent releases: which release supersedes this one, and the instances a release was limited to (its plan is made again when it leaves the queue). */
export function releaseConcurrencyMigrations(): Record<string, Migration> {
  return {
    '0105_release_concurrency': {
      async up(db: Kysely<any>) {
        await db.schema.alterTable('releases').addColumn('superseded_by', 'varchar(40)').execute();
        await db.schema.alterTable('releases').addColumn('only_instances', 'text').execute();
      },
    },
  };
}
