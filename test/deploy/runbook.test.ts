// What docs/runbook.md tells an operator to look for, checked against what Dixie does and writes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { overallStatus, type FinnServiceHealth } from '../../src/domain/health.js';
import { spawnDixie } from '../helpers/spawn-dixie.js';
import { repoRoot } from './helpers.js';

const runbook = readFileSync(join(repoRoot, 'docs/runbook.md'), 'utf8');

/** The text under `heading`, up to the next heading of its level or above (outside code blocks). */
function section(heading: string): string {
  const lines = runbook.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`no "${heading}" in docs/runbook.md`);
  const level = heading.indexOf(' ');
  let fenced = false;
  const body: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('```')) fenced = !fenced;
    const depth = /^(#+) /.exec(line)?.[1]?.length;
    if (!fenced && depth !== undefined && depth <= level) break;
    body.push(line);
  }
  return body.join('\n');
}

/** The cells of the table row whose first cell is `first`. */
function row(text: string, first: string): string[] {
  const line = text.split('\n').find((l) => l.startsWith(`| ${first} |`));
  if (!line) throw new Error(`no row ${first}`);
  return line.split('|').slice(1, -1).map((cell) => cell.trim());
}

/**
 * CloudWatch Logs filter patterns, as far as the runbook uses them: `{ $.field = "value" }` on a
 * JSON line, or terms (bare or quoted) that must all occur, case-sensitively.
 */
function filterMatches(pattern: string, line: string): boolean {
  const json = /^\{\s*\$\.(\w+)\s*=\s*"([^"]*)"\s*\}$/.exec(pattern.trim());
  if (json) {
    try {
      return (JSON.parse(line) as Record<string, unknown>)[json[1]!] === json[2];
    } catch {
      return false;
    }
  }
  const terms = [...pattern.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
  return terms.every((term) => line.includes(term));
}

function filterPatterns(text: string): string[] {
  return [...text.matchAll(/--filter-pattern (?:'([^']*)'|"((?:[^"\\]|\\.)*)")/g)].map((m) => m[1] ?? m[2]!.replace(/\\"/g, '"'));
}

describe('docs/runbook.md', () => {
  it('says unhealthy only when the circuit is OPEN: a failing probe with the circuit closed is degraded', () => {
    const finn = (status: FinnServiceHealth['status'], circuit: FinnServiceHealth['circuit_state']): FinnServiceHealth => ({
      status,
      latency_ms: null,
      circuit_state: circuit,
    });
    expect(overallStatus(finn('unreachable', 'CLOSED'), undefined)).toBe('degraded');
    expect(overallStatus(finn('unreachable', 'OPEN'), undefined)).toBe('unhealthy');

    const health = section('## Health');
    const [, unhealthyWhen] = row(health, '`unhealthy`');
    expect(unhealthyWhen).toMatch(/circuit is OPEN/);
    expect(unhealthyWhen).not.toMatch(/unreachable/i);
    const [, degradedWhen] = row(health, '`degraded`');
    expect(degradedWhen).toMatch(/probe failed .*circuit still CLOSED/);
  });

  describe('failed deployment', () => {
    const failed = section('### Failed deployment, ECS circuit-breaker rollback');
    let configError = { code: null as number | null, lines: [] as string[] };
    let noDatabase = { code: null as number | null, lines: [] as string[] };

    beforeAll(async () => {
      // CloudWatch gets both streams of the container, one event per line.
      const run = async (env: Record<string, string>) => {
        const p = spawnDixie(env);
        const code = await p.exited;
        return { code, lines: `${p.stdout()}\n${p.stderr()}`.split('\n').filter((l) => l !== '') };
      };
      [configError, noDatabase] = await Promise.all([
        run({ NODE_ENV: 'production', LOG_LEVEL: 'verbose' }),
        // Nothing listens on port 1: connecting fails before the pool's 3 s connect timeout.
        run({ NODE_ENV: 'test', FINN_URL: 'http://127.0.0.1:9', DIXIE_PORT: '0', DATABASE_URL: 'postgres://postgres@127.0.0.1:1/dixie' }),
      ]);
    });

    it('gives filter patterns that find the config errors and the error-level lines of a failed start', () => {
      const patterns = filterPatterns(failed);
      const finds = (lines: string[]) => patterns.filter((p) => lines.some((line) => filterMatches(p, line)));
      expect(configError.code).toBe(1);
      expect(configError.lines.some((l) => l.startsWith('config error: LOG_LEVEL'))).toBe(true);
      expect(finds(configError.lines)).toContain('"config error"');
      expect(noDatabase.code).toBe(1);
      expect(finds(noDatabase.lines)).toContain('{ $.level = "error" }');
      // The pattern the seed runbook gave matches neither: Dixie never writes "ERROR".
      expect([...configError.lines, ...noDatabase.lines].filter((l) => filterMatches('ERROR', l))).toEqual([]);
    });

    it('says PostgreSQL unreachable at startup ends in startup_failed and exit 1, not a hang', () => {
      const logged = noDatabase.lines.flatMap((l) => (l.startsWith('{') ? [JSON.parse(l) as Record<string, unknown>] : []));
      expect(logged).toContainEqual(expect.objectContaining({ level: 'error', event: 'startup_failed' }));
      expect(logged.some((l) => l.event === 'listening')).toBe(false);

      const finding = failed.split('\n').find((l) => l.includes('`startup_failed`')) ?? '';
      expect(finding).toMatch(/exit code 1/);
      expect(finding).toMatch(/3 s/);
      expect(failed).not.toMatch(/hangs/);
    });
  });

  it('warns that a shutdown grace above the ECS stopTimeout, less a margin, is cut by SIGKILL', () => {
    const template = JSON.parse(readFileSync(join(repoRoot, 'deploy/ecs/task-definition.json'), 'utf8')) as {
      containerDefinitions: { stopTimeout: number }[];
    };
    const stopMs = (template.containerDefinitions[0]?.stopTimeout ?? 0) * 1000;
    const [, , , , meaning = ''] = row(section('## Configuration (SSM parameters)'), '`DIXIE_SHUTDOWN_GRACE_MS`');
    expect(meaning).toContain(`\`stopTimeout\` is ${stopMs / 1000} s`);
    expect(meaning).toMatch(/SIGKILL/);
    const limit = Number(/above ~(\d+)/.exec(meaning)?.[1]);
    expect(limit).toBeLessThan(stopMs);
    expect(limit).toBeGreaterThan(stopMs - 5_000);
  });
});
