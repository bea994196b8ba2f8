import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { parseDockerfile, stage, userIds } from './dockerfile.js';
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
  mountPoints?: { sourceVolume: string; containerPath: string; readOnly?: boolean }[];
}

interface Volume {
  name: string;
  efsVolumeConfiguration?: {
    fileSystemId: string;
    rootDirectory?: string;
    transitEncryption?: string;
    authorizationConfig?: { accessPointId?: string; iam?: string };
  };
}

const templateText = readFileSync(join(repoRoot, 'deploy/ecs/task-definition.json'), 'utf8');
const template = JSON.parse(templateText) as {
  family: string;
  containerDefinitions: ContainerDefinition[];
  volumes?: Volume[];
};

// Every variable the config reads: a name passed to one of the reader's methods in the two files
// that read the environment, so a variable added there cannot go unmapped here.
function readConfigVariables(): string[] {
  const names = new Set<string>();
  for (const file of ['src/config.ts', 'src/config-parse.ts']) {
    const source = readFileSync(join(repoRoot, file), 'utf8');
    for (const m of source.matchAll(/\br\.(\w+)\(\s*'([A-Z][A-Z0-9_]*)'/g)) {
      if (m[1] !== 'problem' && m[1] !== 'warn') names.add(m[2] ?? '');
    }
  }
  return [...names].sort();
}

// What loadConfig actually reads, to catch a name the pattern above cannot see (passed in a variable).
function variablesRead(): string[] {
  const read = new Set<string>();
  const env = new Proxy({}, {
    get(_, name) {
      if (typeof name === 'string') read.add(name);
      return undefined;
    },
  });
  expect(() => loadConfig(env)).toThrow(ConfigError);
  return [...read].sort();
}

const configVariables = readConfigVariables();
const secrets = [
  'DIXIE_JWT_PRIVATE_KEY', 'DIXIE_ADMIN_KEY', 'DIXIE_SCHEDULE_CALLBACK_SECRET', 'FINN_AUTH_TOKEN',
  'DIXIE_MEMORY_SEAL_KEY', 'DATABASE_URL', 'REDIS_URL',
];

describe('deploy/ecs/task-definition.json', () => {
  const [container, ...others] = template.containerDefinitions;

  // register-task.sh fills them from deploy/lib.sh's overridable defaults; a literal would not follow.
  it('names the account, region, registry and log group only as ${NAME} placeholders', () => {
    for (const literal of ['891376933289', 'us-east-1', 'dkr.ecr', '/ecs/dixie-armitage']) expect(templateText).not.toContain(literal);
  });

  it('knows every variable src/config.ts reads', () => {
    expect(configVariables).toEqual(expect.arrayContaining(['FINN_URL', 'DATABASE_URL', 'NATS_URL', 'DIXIE_SIWE_CHAIN_IDS']));
    expect(configVariables).toEqual(variablesRead());
  });

  it.each(['docs/runbook.md', 'README.md'])('%s documents every one of them', (doc) => {
    const text = readFileSync(join(repoRoot, doc), 'utf8');
    const documented = [...text.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]);
    expect(configVariables.filter((v) => !documented.includes(v))).toEqual([]);
  });

  it('defines the dixie-armitage family with one essential dixie container on port 3001', () => {
    expect(template.family).toBe('dixie-armitage');
    expect(others).toEqual([]);
    expect(container?.name).toBe('dixie');
    expect(container?.essential).toBe(true);
    expect(container?.image).toBe('${ECR_REGISTRY}/${ECR_REPOSITORY}:IMAGE_TAG');
    expect(container?.portMappings.map((p) => [p.containerPort, p.protocol])).toEqual([[3001, 'tcp']]);
  });

  // DIXIE_PORT stays inline: the port mapping and the health check below hard-code 3001.
  it('sets only DIXIE_PORT inline; every other variable, NODE_ENV included, comes from SSM', () => {
    expect(container?.environment).toEqual([{ name: 'DIXIE_PORT', value: '3001' }]);
    const fromSsm = container?.secrets.map((s) => s.name) ?? [];
    expect(new Set(fromSsm).size).toBe(fromSsm.length);
    const expected = configVariables.filter((v) => v !== 'DIXIE_PORT');
    expect([...fromSsm].sort()).toEqual(expected);
    for (const secret of secrets) expect(fromSsm).toContain(secret);
    for (const s of container?.secrets ?? []) {
      expect(s.valueFrom).toBe(`arn:aws:ssm:\${AWS_REGION}:\${AWS_ACCOUNT_ID}:parameter/arrakis/staging/dixie/${s.name}`);
    }
  });

  // The allowlist is edited at runtime and shared by every task through `<path>.lock`: it must
  // outlive a task and be the same file for all of them.
  it('mounts the allowlist folder from EFS, encrypted in transit, through an access point', () => {
    const allowlistDir = dirname(loadConfig({ FINN_URL: 'http://finn', NODE_ENV: 'test' }).config.allowlistPath);
    const mount = container?.mountPoints?.find((m) => m.containerPath === allowlistDir);
    expect(mount).toMatchObject({ containerPath: '/data', readOnly: false });
    expect(template.volumes?.find((v) => v.name === mount?.sourceVolume)).toEqual({
      name: mount?.sourceVolume,
      efsVolumeConfiguration: {
        fileSystemId: '${EFS_FILE_SYSTEM_ID}',
        transitEncryption: 'ENABLED',
        authorizationConfig: { accessPointId: '${EFS_ACCESS_POINT_ID}', iam: 'DISABLED' },
      },
    });
  });

  it("has the runbook create the access point as the image's dixie uid/gid", () => {
    const ids = userIds(stage(parseDockerfile(readFileSync(join(repoRoot, 'deploy/Dockerfile'), 'utf8')), 'runtime'), 'dixie');
    const runbook = readFileSync(join(repoRoot, 'docs/runbook.md'), 'utf8');
    const command = /aws efs create-access-point (?:[^\n]*\\\n)*[^\n]*/.exec(runbook)?.[0] ?? '';
    expect(command).toContain(`--posix-user Uid=${ids?.uid},Gid=${ids?.gid}`);
    expect(command).toContain(`Path=/dixie,CreationInfo={OwnerUid=${ids?.uid},OwnerGid=${ids?.gid},`);
  });

  it('logs to LOG_GROUP in AWS_REGION and health-checks /livez with node', () => {
    expect(container?.logConfiguration.logDriver).toBe('awslogs');
    expect(container?.logConfiguration.options).toMatchObject({
      'awslogs-group': '${LOG_GROUP}',
      'awslogs-region': '${AWS_REGION}',
    });
    const [kind, binary, flag, script] = container?.healthCheck.command ?? [];
    expect([kind, binary, flag]).toEqual(['CMD', 'node', '-e']);
    expect(script).toContain('http://127.0.0.1:3001/livez');
  });
});
