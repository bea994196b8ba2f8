// What docs/runbook.md tells an operator to look for, checked against what Dixie does and writes.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { overallStatus, type FinnServiceHealth } from '../../src/domain/health.js';
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
