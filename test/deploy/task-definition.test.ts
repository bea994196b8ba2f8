import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helpers.js';

interface ContainerDefinition {
  name: string;
  image: string;
  essential: boolean;
  portMappings: { containerPort: number; protocol: string }[];
  environment: { name: string; value: string }[];
  secrets: { name: string; valueFrom: string }[];
  healthCheck: { command: string[] };
  logConfiguration: { logDriver: string; options: Record<string, string> };
}

const template = JSON.parse(readFileSync(join(repoRoot, 'deploy/ecs/task-definition.json'), 'utf8')) as {
  family: string;
  containerDefinitions: ContainerDefinition[];
};

// Every variable of spec/config.md: the runbook's table, then the ones this implementation added.
const runbookVariables = [
  'FINN_URL', 'FINN_WS_URL', 'DIXIE_PORT', 'NODE_ENV', 'LOG_LEVEL', 'DIXIE_JWT_PRIVATE_KEY', 'DIXIE_ADMIN_KEY',
  'DIXIE_ALLOWLIST_PATH', 'DIXIE_SCHEDULE_CALLBACK_SECRET', 'DATABASE_URL', 'REDIS_URL', 'NATS_URL',
  'DATABASE_POOL_SIZE', 'DIXIE_CORS_ORIGINS', 'DIXIE_RATE_LIMIT_RPM', 'DIXIE_RATE_LIMIT_BACKEND',
  'DIXIE_MEMORY_PROJECTION_TTL', 'DIXIE_MEMORY_MAX_EVENTS', 'DIXIE_CONVICTION_TIER_TTL', 'DIXIE_PERSONALITY_TTL',
  'DIXIE_AUTONOMOUS_PERMISSION_TTL', 'DIXIE_AUTONOMOUS_BUDGET', 'OTEL_EXPORTER_OTLP_ENDPOINT',
];
const addedVariables = [
  'FINN_AUTH_TOKEN', 'DIXIE_FINN_TIMEOUT_MS', 'DIXIE_FINN_CIRCUIT_FAILURES', 'DIXIE_FINN_CIRCUIT_RECOVERY_MS',
  'DIXIE_PUBLIC_URL', 'DIXIE_SIWE_DOMAIN', 'DIXIE_SIWE_CHAIN_IDS', 'DIXIE_CONVICTION_FALLBACK_TIER',
  'DIXIE_MEMORY_SEAL_KEY', 'DIXIE_TRUSTED_DOCUMENTS', 'DIXIE_TRUST_PROXY_HOPS', 'DIXIE_SHUTDOWN_GRACE_MS',
];
const secrets = [
  'DIXIE_JWT_PRIVATE_KEY', 'DIXIE_ADMIN_KEY', 'DIXIE_SCHEDULE_CALLBACK_SECRET', 'FINN_AUTH_TOKEN',
  'DIXIE_MEMORY_SEAL_KEY', 'DATABASE_URL', 'REDIS_URL',
];

describe('deploy/ecs/task-definition.json', () => {
  const [container, ...others] = template.containerDefinitions;

  it('defines the dixie-armitage family with one essential dixie container on port 3001', () => {
    expect(template.family).toBe('dixie-armitage');
    expect(others).toEqual([]);
    expect(container?.name).toBe('dixie');
    expect(container?.essential).toBe(true);
    expect(container?.image).toBe('891376933289.dkr.ecr.us-east-1.amazonaws.com/dixie-armitage:IMAGE_TAG');
    expect(container?.portMappings.map((p) => [p.containerPort, p.protocol])).toEqual([[3001, 'tcp']]);
  });

  it('sets only NODE_ENV and DIXIE_PORT inline; every other variable comes from SSM', () => {
    expect(container?.environment).toEqual([
      { name: 'NODE_ENV', value: 'production' },
      { name: 'DIXIE_PORT', value: '3001' },
    ]);
    const fromSsm = container?.secrets.map((s) => s.name) ?? [];
    expect(new Set(fromSsm).size).toBe(fromSsm.length);
    const expected = [...runbookVariables, ...addedVariables].filter((v) => v !== 'NODE_ENV' && v !== 'DIXIE_PORT');
    expect([...fromSsm].sort()).toEqual([...expected].sort());
    for (const secret of secrets) expect(fromSsm).toContain(secret);
    for (const s of container?.secrets ?? []) {
      expect(s.valueFrom).toBe(`arn:aws:ssm:us-east-1:891376933289:parameter/arrakis/staging/dixie/${s.name}`);
    }
  });

  it('logs to /ecs/dixie-armitage in us-east-1 and health-checks /livez with node', () => {
    expect(container?.logConfiguration.logDriver).toBe('awslogs');
    expect(container?.logConfiguration.options).toMatchObject({
      'awslogs-group': '/ecs/dixie-armitage',
      'awslogs-region': 'us-east-1',
    });
    const [kind, binary, flag, script] = container?.healthCheck.command ?? [];
    expect([kind, binary, flag]).toEqual(['CMD', 'node', '-e']);
    expect(script).toContain('http://127.0.0.1:3001/livez');
  });
});
