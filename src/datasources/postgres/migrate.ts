import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LogEvent } from '../../log-events.js';
import type { Logger } from '../../logger.js';
import type { Db } from './db.js';

export class MigrationError extends Error {
  constructor(
    readonly migration: string,
    cause: unknown,
  ) {
    super(`migration ${migration} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'MigrationError';
  }
}

/**
 * Applies pending `migrations/*.sql` in name order, each in its own transaction, under an advisory
 * lock so that instances starting together migrate exactly once.
 */
export async function runMigrations(db: Db, dir: string, logger: Logger): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  return db.withAdvisoryLock('dixie:migrations', async (session) => {
    await session.query(
      'CREATE TABLE IF NOT EXISTS dixie_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set((await session.query<{ name: string }>('SELECT name FROM dixie_migrations')).rows.map((r) => r.name));
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = await readFile(join(dir, file), 'utf8');
      try {
        await db.exec(session, `BEGIN;\n${sql}\n;INSERT INTO dixie_migrations (name) VALUES ('${file.replace(/'/g, "''")}');\nCOMMIT;`);
      } catch (err) {
        await session.query('ROLLBACK').catch(() => undefined);
        logger.error({ event: LogEvent.migrationFailed, migration: file, err: err instanceof Error ? err.message : String(err) }, LogEvent.migrationFailed);
        throw new MigrationError(file, err);
      }
      applied.push(file);
      logger.info({ event: 'migration_applied', migration: file }, 'migration applied');
    }
    return applied;
  });
}
