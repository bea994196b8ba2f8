import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** A short unique tag for one test file's PostgreSQL schema, Redis key prefix and NATS subjects. */
export function uniqueTag(name: string): string {
  return `${name.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
}

/** Creates a fresh schema and returns a DATABASE_URL whose search_path points at it. */
export async function createTestSchema(tag: string): Promise<{ url: string; drop(): Promise<void> }> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  await client.query(`CREATE SCHEMA IF NOT EXISTS "${tag}"`);
  await client.end();
  const url = `${PG_URL}?options=${encodeURIComponent(`-c search_path=${tag}`)}`;
  return {
    url,
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS "${tag}" CASCADE`);
      await c.end();
    },
  };
}
