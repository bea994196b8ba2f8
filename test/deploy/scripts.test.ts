import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import * as fx from './fixtures.js';
import { createSandbox, deployDir, repoRoot, runScript, startHealthServer, type Sandbox, type SandboxOptions } from './helpers.js';

const RDS = 'sg-08be68d1249489190';
const ECS = 'sg-0790b2636abe2498e';
const ALB = 'sg-007cdd539bcc3360c';
const EFS = 'sg-0efs0000000000001';
const remote = `${fx.registry}/dixie-armitage`;
const describeServicesArgs = [
  'ecs', 'describe-services', '--cluster', 'arrakis-staging-cluster', '--services', 'dixie-armitage',
  '--region', 'us-east-1', '--output', 'json',
];

let sandboxes: Sandbox[] = [];
function sandbox(options?: SandboxOptions): Sandbox {
  const box = createSandbox(options);
  sandboxes.push(box);
  return box;
}
afterEach(() => {
  for (const box of sandboxes) box.cleanup();
  sandboxes = [];
});

describe('every script', () => {
  const scripts = ['build-push.sh', 'register-task.sh', 'deploy.sh', 'verify.sh', 'rollback.sh', 'check-network.sh'];

  it.each(scripts)('%s passes bash -n, is executable and prints --help', async (script) => {
    execFileSync('bash', ['-n', join(deployDir, script)]);
    const box = sandbox();
    const result = await runScript(script, ['--help'], box.env());
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^Usage: deploy/${script.replace('.', '\\.')}`));
    expect(box.calls()).toEqual([]);
  });

  it.each(scripts)('%s rejects an unknown option with exit code 2', async (script) => {
    const result = await runScript(script, ['--bogus'], sandbox().env());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("error: unknown option '--bogus'");
  });
});

describe('build-push.sh', () => {
  const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();

  it('builds, logs in to ECR and pushes the git SHA and latest tags', async () => {
    const box = sandbox();
    box.fixture('ecr_get-login-password.json', 'fake-ecr-password');
    const result = await runScript('build-push.sh', [], box.env());
    expect(result.stderr).not.toContain('error');
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([
      { cmd: 'docker', args: ['build', '--platform', 'linux/amd64', '-f', 'deploy/Dockerfile', '-t', `dixie-armitage:${sha}`, '.'] },
      { cmd: 'aws', args: ['ecr', 'get-login-password', '--region', 'us-east-1'] },
      { cmd: 'docker', args: ['login', '--username', 'AWS', '--password-stdin', fx.registry] },
      { cmd: 'docker', args: ['tag', `dixie-armitage:${sha}`, `${remote}:${sha}`] },
      { cmd: 'docker', args: ['tag', `dixie-armitage:${sha}`, `${remote}:latest`] },
      { cmd: 'docker', args: ['push', `${remote}:${sha}`] },
      { cmd: 'docker', args: ['push', `${remote}:latest`] },
    ]);
    expect(box.file('docker-login.stdin').trim()).toBe('fake-ecr-password');
    expect(result.stdout).toContain(`pushed ${remote}:${sha}`);
  });

  it('follows IMAGE_TAG, AWS_ACCOUNT_ID, AWS_REGION and ECR_REPOSITORY overrides', async () => {
    const box = sandbox();
    box.fixture('ecr_get-login-password.json', 'pw');
    const env = box.env({ IMAGE_TAG: 'v2.0.0-rc1', AWS_ACCOUNT_ID: '111122223333', AWS_REGION: 'eu-west-1', ECR_REPOSITORY: 'dixie-test' });
    const result = await runScript('build-push.sh', [], env);
    expect(result.code).toBe(0);
    const otherRemote = '111122223333.dkr.ecr.eu-west-1.amazonaws.com/dixie-test';
    expect(box.calls().map((c) => [c.cmd, ...c.args].join(' '))).toEqual([
      'docker build --platform linux/amd64 -f deploy/Dockerfile -t dixie-test:v2.0.0-rc1 .',
      'aws ecr get-login-password --region eu-west-1',
      'docker login --username AWS --password-stdin 111122223333.dkr.ecr.eu-west-1.amazonaws.com',
      `docker tag dixie-test:v2.0.0-rc1 ${otherRemote}:v2.0.0-rc1`,
      `docker tag dixie-test:v2.0.0-rc1 ${otherRemote}:latest`,
      `docker push ${otherRemote}:v2.0.0-rc1`,
      `docker push ${otherRemote}:latest`,
    ]);
  });

  it('--dry-run prints the exact commands and runs none', async () => {
    const box = sandbox();
    const result = await runScript('build-push.sh', ['--dry-run'], box.env({ IMAGE_TAG: 'abc1234' }));
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([]);
    expect(result.stdout.trim().split('\n')).toEqual([
      '+ docker build --platform linux/amd64 -f deploy/Dockerfile -t dixie-armitage:abc1234 .',
      `+ aws ecr get-login-password --region us-east-1 | docker login --username AWS --password-stdin ${fx.registry}`,
      `+ docker tag dixie-armitage:abc1234 ${remote}:abc1234`,
      `+ docker tag dixie-armitage:abc1234 ${remote}:latest`,
      `+ docker push ${remote}:abc1234`,
      `+ docker push ${remote}:latest`,
    ]);
  });

  it('names a missing docker before running anything', async () => {
    const box = sandbox({ omitFakes: ['docker'], restrictPath: { omit: [] } });
    const result = await runScript('build-push.sh', [], box.env());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("'docker' is required but was not found on PATH");
    expect(box.calls()).toEqual([]);
  });

  it('explains an ECR permission error with the permission the runbook lists', async () => {
    const box = sandbox();
    box.fixture('ecr_get-login-password.json', 'pw');
    box.fixture('docker_push.err', 'denied: User: arn:aws:iam::891376933289:user/ci is not authorized to perform: ecr:InitiateLayerUpload\n');
    const result = await runScript('build-push.sh', [], box.env({ IMAGE_TAG: 'abc1234' }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('permission denied for');
    expect(result.stderr).toContain('ecr:InitiateLayerUpload');
    expect(box.calls().filter((c) => c.args[0] === 'push')).toHaveLength(1);
  });
});

describe('register-task.sh', () => {
  it('copies the current revision with the new image tag and without read-only fields', async () => {
    const box = sandbox();
    box.fixture('ecs_describe-task-definition.json', fx.describeTaskDefinition);
    box.fixture('ecs_register-task-definition.json', fx.registerTaskDefinition);
    const result = await runScript('register-task.sh', ['n3wsha7'], box.env());
    expect(result.stderr).not.toContain('error');
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe('arn:aws:ecs:us-east-1:891376933289:task-definition/dixie-armitage:42');

    const [describe, register, ...rest] = box.calls();
    expect(rest).toEqual([]);
    expect(describe).toEqual({
      cmd: 'aws',
      args: ['ecs', 'describe-task-definition', '--task-definition', 'dixie-armitage', '--region', 'us-east-1', '--output', 'json'],
    });
    expect(register?.args.slice(0, 4)).toEqual(['ecs', 'register-task-definition', '--region', 'us-east-1']);
    expect(register?.args[4]).toBe('--cli-input-json');
    expect(register?.args[5]).toMatch(/^file:\/\/.+\/task-definition\.json$/);
    expect(register?.args.slice(6)).toEqual(['--output', 'json']);

    const registered = JSON.parse(box.file('ecs_register-task-definition.input.json')) as Record<string, unknown>;
    for (const field of fx.readOnlyFields) expect(registered).not.toHaveProperty(field);
    const expected = structuredClone(fx.registrable);
    expected.containerDefinitions[0]!.image = `${fx.registry}/dixie-armitage:n3wsha7`;
    expect(registered).toEqual(expected);
  });

  // The template with its ${NAME} placeholders filled in as the jq step should.
  function filledTemplate(values: Record<string, string>, tag: string): typeof fx.registrable {
    let text = readFileSync(join(deployDir, 'ecs/task-definition.json'), 'utf8');
    for (const [name, value] of Object.entries(values)) text = text.replaceAll(`\${${name}}`, value);
    const template = JSON.parse(text) as typeof fx.registrable;
    template.containerDefinitions[0]!.image = template.containerDefinitions[0]!.image.replace(/:IMAGE_TAG$/, `:${tag}`);
    return template;
  }
  const efs = { EFS_FILE_SYSTEM_ID: 'fs-0123456789abcdef0', EFS_ACCESS_POINT_ID: 'fsap-0123456789abcdef0' };
  const stagingValues = {
    AWS_ACCOUNT_ID: '891376933289',
    AWS_REGION: 'us-east-1',
    ECR_REGISTRY: fx.registry,
    ECR_REPOSITORY: 'dixie-armitage',
    LOG_GROUP: '/ecs/dixie-armitage',
    ...efs,
  };

  it('--from-template registers deploy/ecs/task-definition.json with the tag and staging defaults filled in', async () => {
    const box = sandbox();
    box.fixture('ecs_register-task-definition.json', fx.registerTaskDefinition);
    const result = await runScript('register-task.sh', ['--from-template', 'abc1234'], box.env(efs));
    expect(result.code).toBe(0);
    expect(box.calls().map((c) => c.args[1])).toEqual(['register-task-definition']);
    const registered = JSON.parse(box.file('ecs_register-task-definition.input.json')) as typeof fx.registrable;
    expect(registered).toEqual(filledTemplate(stagingValues, 'abc1234'));
    expect(JSON.stringify(registered)).toContain('"efsVolumeConfiguration":{"fileSystemId":"fs-0123456789abcdef0"');
    expect(JSON.stringify(registered)).toContain('"accessPointId":"fsap-0123456789abcdef0"');
    expect(registered.executionRoleArn).toBe('arn:aws:iam::891376933289:role/dixie-armitage-execution');
    expect(registered.containerDefinitions[0]!.image).toBe(`${fx.registry}/dixie-armitage:abc1234`);
    expect(box.file('ecs_register-task-definition.input.json')).not.toContain('${');
  });

  it('--from-template follows AWS_ACCOUNT_ID, AWS_REGION, ECR_REPOSITORY and LOG_GROUP overrides', async () => {
    const box = sandbox();
    box.fixture('ecs_register-task-definition.json', fx.registerTaskDefinition);
    const overrides = { AWS_ACCOUNT_ID: '111122223333', AWS_REGION: 'eu-west-1', ECR_REPOSITORY: 'dixie-test', LOG_GROUP: '/ecs/dixie-test' };
    const result = await runScript('register-task.sh', ['--from-template', 'abc1234'], box.env({ ...overrides, ...efs }));
    expect(result.code).toBe(0);
    expect(box.calls()[0]?.args.slice(0, 4)).toEqual(['ecs', 'register-task-definition', '--region', 'eu-west-1']);
    const text = box.file('ecs_register-task-definition.input.json');
    const registered = JSON.parse(text) as typeof fx.registrable;
    expect(registered).toEqual(filledTemplate({ ...overrides, ...efs, ECR_REGISTRY: '111122223333.dkr.ecr.eu-west-1.amazonaws.com' }, 'abc1234'));
    expect(registered.executionRoleArn).toBe('arn:aws:iam::111122223333:role/dixie-armitage-execution');
    expect(registered.containerDefinitions[0]!.image).toBe('111122223333.dkr.ecr.eu-west-1.amazonaws.com/dixie-test:abc1234');
    expect(text).toContain('"arn:aws:ssm:eu-west-1:111122223333:parameter/arrakis/staging/dixie/FINN_URL"');
    expect(text).toContain('"awslogs-group": "/ecs/dixie-test"');
    expect(text).not.toContain('891376933289');
    expect(text).not.toContain('us-east-1');
  });

  it('--from-template without the EFS ids names them and registers nothing; a dry run shows them empty', async () => {
    const box = sandbox();
    const result = await runScript('register-task.sh', ['--from-template', 'abc1234'], box.env({ EFS_ACCESS_POINT_ID: efs.EFS_ACCESS_POINT_ID }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('EFS_FILE_SYSTEM_ID is not set: the task definition template needs it');
    expect(box.calls()).toEqual([]);

    const dry = await runScript('register-task.sh', ['--dry-run', '--from-template', 'abc1234'], box.env());
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^\+ jq --arg container dixie --arg tag abc1234 .* --arg EFS_FILE_SYSTEM_ID '' --arg EFS_ACCESS_POINT_ID '' -f /m);
    expect(box.calls()).toEqual([]);
  });

  it('--dry-run prints describe, jq and register and runs none of them', async () => {
    const box = sandbox();
    const result = await runScript('register-task.sh', ['--dry-run', 'abc1234'], box.env());
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([]);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\+ aws ecs describe-task-definition --task-definition dixie-armitage --region us-east-1 --output json > \S+\/current\.json$/);
    expect(lines[1]).toMatch(/^\+ jq --arg container dixie --arg tag abc1234 -f \S+\/deploy\/ecs\/new-revision\.jq \S+\/current\.json > \S+\/task-definition\.json$/);
    expect(lines[2]).toMatch(/^\+ aws ecs register-task-definition --region us-east-1 --cli-input-json file:\/\/\S+\/task-definition\.json --output json$/);
  });

  it('requires an image tag and rejects an invalid one', async () => {
    const box = sandbox();
    expect((await runScript('register-task.sh', [], box.env())).code).toBe(2);
    const bad = await runScript('register-task.sh', ['bad tag!'], box.env());
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("invalid image tag 'bad tag!'");
    expect(box.calls()).toEqual([]);
  });

  it('names a missing jq', async () => {
    const box = sandbox({ restrictPath: { omit: ['jq'] } });
    const result = await runScript('register-task.sh', ['abc1234'], box.env());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("'jq' is required but was not found on PATH (install jq:");
  });
});

describe('deploy.sh', () => {
  it('forces a new deployment of the current task definition with the defaults', async () => {
    const box = sandbox();
    box.fixture('ecs_update-service.json', fx.updateService(41));
    const result = await runScript('deploy.sh', [], box.env());
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([
      {
        cmd: 'aws',
        args: ['ecs', 'update-service', '--cluster', 'arrakis-staging-cluster', '--service', 'dixie-armitage',
          '--force-new-deployment', '--region', 'us-east-1', '--output', 'json'],
      },
    ]);
    expect(result.stdout).toContain('deployment ecs-svc/222 started with arn:aws:ecs:us-east-1:891376933289:task-definition/dixie-armitage:41');
  });

  it('switches to a given revision and follows environment overrides', async () => {
    const box = sandbox();
    box.fixture('ecs_update-service.json', fx.updateService(42));
    const env = box.env({ ECS_CLUSTER: 'other-cluster', ECS_SERVICE: 'dixie-blue', TASK_FAMILY: 'dixie-blue', AWS_REGION: 'eu-west-1' });
    const result = await runScript('deploy.sh', ['42'], env);
    expect(result.code).toBe(0);
    expect(box.calls()[0]?.args).toEqual([
      'ecs', 'update-service', '--cluster', 'other-cluster', '--service', 'dixie-blue', '--force-new-deployment',
      '--task-definition', 'dixie-blue:42', '--region', 'eu-west-1', '--output', 'json',
    ]);
    expect(result.stdout).toContain('next: deploy/verify.sh dixie-blue:42');
  });

  it('--dry-run prints the update-service command only', async () => {
    const box = sandbox();
    const result = await runScript('deploy.sh', ['--dry-run', 'dixie-armitage:7'], box.env());
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([]);
    expect(result.stdout).toBe(
      '+ aws ecs update-service --cluster arrakis-staging-cluster --service dixie-armitage --force-new-deployment --task-definition dixie-armitage:7 --region us-east-1 --output json\n',
    );
  });

  it('turns AccessDenied into the missing IAM permission', async () => {
    const box = sandbox();
    box.fixture('ecs_update-service.err', fx.accessDenied('ecs:UpdateService'));
    const result = await runScript('deploy.sh', [], box.env());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("permission denied for 'aws ecs update-service' in account 891376933289 (us-east-1)");
    expect(result.stderr).toContain('The caller needs IAM permission: ecs:UpdateService');
  });
});

describe('verify.sh', () => {
  it('waits for the PRIMARY deployment to be alone and COMPLETED, then for a non-unhealthy status', async () => {
    const box = sandbox();
    box.fixture('ecs_describe-services.1.json', fx.rolloutInProgress);
    box.fixture('ecs_describe-services.2.json', fx.rolloutInProgress);
    box.fixture('ecs_describe-services.json', fx.rolloutCompleted);
    const health = await startHealthServer(['unhealthy', 'unhealthy', 'degraded']);
    try {
      const result = await runScript('verify.sh', [], box.env({ DIXIE_HEALTH_URL: `${health.url}/` }));
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(box.calls()).toEqual([1, 2, 3].map(() => ({ cmd: 'aws', args: describeServicesArgs })));
      expect(health.hits()).toBe(3);
      expect(result.stdout.split('\n')).toEqual([
        'deployment ecs-svc/222 IN_PROGRESS: 1/2 tasks running, 2 deployment(s) active',
        'deployment ecs-svc/222 (arn:aws:ecs:us-east-1:891376933289:task-definition/dixie-armitage:42) COMPLETED: 2/2 tasks running',
        `health: unhealthy from ${health.url}/api/health`,
        `health: ${health.url}/api/health reports degraded (see docs/runbook.md, 'Health')`,
        '',
      ]);
    } finally {
      await health.close();
    }
  });

  it('fails when the ECS deployment circuit breaker rolls the deployment back', async () => {
    const box = sandbox();
    box.fixture('ecs_describe-services.1.json', fx.rolloutInProgress);
    box.fixture('ecs_describe-services.json', fx.rolloutCircuitBreaker);
    const health = await startHealthServer(['healthy']);
    try {
      const result = await runScript('verify.sh', [], box.env({ DIXIE_HEALTH_URL: health.url }));
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('error: deployment of dixie-armitage failed: deployment ecs-svc/222');
      expect(result.stderr).toContain('rolloutState FAILED: ECS deployment circuit breaker: tasks failed to start.');
      expect(result.stderr).toContain('rolling back to deployment ecs-svc/111');
      expect(box.calls()).toHaveLength(2);
      expect(health.hits()).toBe(0);
    } finally {
      await health.close();
    }
  });

  it('fails when the PRIMARY deployment is replaced even after the failed one is gone', async () => {
    const box = sandbox();
    box.fixture('ecs_describe-services.1.json', fx.rolloutInProgress);
    box.fixture('ecs_describe-services.json', fx.rollbackTo41Completed);
    const result = await runScript('verify.sh', [], box.env({ DIXIE_HEALTH_URL: 'http://127.0.0.1:9' }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('the PRIMARY deployment changed from ecs-svc/222 to ecs-svc/444');
  });

  it('with a revision, fails when the PRIMARY deployment runs another one', async () => {
    const box = sandbox();
    box.fixture('ecs_describe-services.json', fx.rolloutCompleted);
    const result = await runScript('verify.sh', ['41'], box.env({ DIXIE_HEALTH_URL: 'http://127.0.0.1:9' }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('runs arn:aws:ecs:us-east-1:891376933289:task-definition/dixie-armitage:42, not dixie-armitage:41');
  });

  it('with the revision rolled back to, ignores the older FAILED deployment it replaces', async () => {
    const box = sandbox();
    box.fixture('ecs_describe-services.1.json', fx.manualRollbackInProgress);
    box.fixture('ecs_describe-services.json', fx.manualRollbackCompleted);
    const health = await startHealthServer(['healthy']);
    try {
      const withRevision = await runScript('verify.sh', ['dixie-armitage:41'], box.env({ DIXIE_HEALTH_URL: health.url }));
      expect(withRevision.stderr).toBe('');
      expect(withRevision.code).toBe(0);
      expect(box.calls()).toHaveLength(2);

      // Without a revision the same FAILED deployment may be the one being verified: fail.
      const unpinned = sandbox();
      unpinned.fixture('ecs_describe-services.json', fx.manualRollbackInProgress);
      const result = await runScript('verify.sh', [], unpinned.env({ DIXIE_HEALTH_URL: health.url }));
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('deployment ecs-svc/222 (arn:aws:ecs:us-east-1:891376933289:task-definition/dixie-armitage:42) rolloutState FAILED');
    } finally {
      await health.close();
    }
  });

  it('times out after VERIFY_TIMEOUT_S while the rollout is still in progress', async () => {
    const box = sandbox();
    box.fixture('ecs_describe-services.json', fx.rolloutInProgress);
    const result = await runScript('verify.sh', [], box.env({ VERIFY_TIMEOUT_S: '3', VERIFY_INTERVAL_S: '0.1' }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('timed out after 3s waiting for the rollout to complete');
    expect(box.calls().length).toBeGreaterThan(1);
  });

  it('times out while /api/health stays unhealthy', async () => {
    const box = sandbox();
    box.fixture('ecs_describe-services.json', fx.rolloutCompleted);
    const health = await startHealthServer(['unhealthy']);
    try {
      const result = await runScript('verify.sh', [], box.env({ DIXIE_HEALTH_URL: health.url, VERIFY_TIMEOUT_S: '3' }));
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`timed out after 3s waiting for ${health.url}/api/health to report a status other than unhealthy (last: unhealthy)`);
      expect(health.hits()).toBeGreaterThan(1);
    } finally {
      await health.close();
    }
  });

  it('rejects a non-numeric VERIFY_TIMEOUT_S', async () => {
    const result = await runScript('verify.sh', [], sandbox().env({ VERIFY_TIMEOUT_S: 'ten' }));
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("VERIFY_TIMEOUT_S must be a whole number of seconds, got 'ten'");
  });
});

describe('rollback.sh', () => {
  it('points the service at the revision, then verifies it', async () => {
    const box = sandbox();
    box.fixture('ecs_update-service.json', fx.updateService(41));
    box.fixture('ecs_describe-services.json', fx.rollbackTo41Completed);
    const health = await startHealthServer(['healthy']);
    try {
      const result = await runScript('rollback.sh', ['41'], box.env({ DIXIE_HEALTH_URL: health.url }));
      expect(result.code).toBe(0);
      expect(box.calls()).toEqual([
        {
          cmd: 'aws',
          args: ['ecs', 'update-service', '--cluster', 'arrakis-staging-cluster', '--service', 'dixie-armitage',
            '--task-definition', 'dixie-armitage:41', '--region', 'us-east-1', '--output', 'json'],
        },
        { cmd: 'aws', args: describeServicesArgs },
      ]);
      expect(result.stdout).toContain(`health: ${health.url}/api/health reports healthy`);
    } finally {
      await health.close();
    }
  });

  it('--no-verify stops after update-service; --dry-run prints update, describe and curl', async () => {
    const box = sandbox();
    box.fixture('ecs_update-service.json', fx.updateService(41));
    expect((await runScript('rollback.sh', ['--no-verify', '41'], box.env())).code).toBe(0);
    expect(box.calls().map((c) => c.args[1])).toEqual(['update-service']);

    const dry = sandbox();
    const result = await runScript('rollback.sh', ['--dry-run', '12'], dry.env());
    expect(result.code).toBe(0);
    expect(dry.calls()).toEqual([]);
    expect(result.stdout.trim().split('\n')).toEqual([
      '+ aws ecs update-service --cluster arrakis-staging-cluster --service dixie-armitage --task-definition dixie-armitage:12 --region us-east-1 --output json',
      `+ aws ${describeServicesArgs.join(' ')}`,
      '+ curl -sS --max-time 10 https://dixie-armitage.arrakis.community/api/health',
    ]);
  });

  it('requires a revision', async () => {
    const result = await runScript('rollback.sh', [], sandbox().env());
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('missing <revision>');
  });
});

describe('check-network.sh', () => {
  it('reports both rules as present and exits 0', async () => {
    const box = sandbox();
    box.fixture(`ec2_describe-security-group-rules.${RDS}.json`, fx.securityGroupRules(RDS, [{ port: 5432, source: ECS }]));
    box.fixture(`ec2_describe-security-group-rules.${ECS}.json`, fx.securityGroupRules(ECS, [{ port: 3001, source: ALB }]));
    const result = await runScript('check-network.sh', [], box.env());
    expect(result.code).toBe(0);
    expect(box.calls()).toEqual([RDS, ECS].map((group) => ({
      cmd: 'aws',
      args: ['ec2', 'describe-security-group-rules', '--filters', `Name=group-id,Values=${group}`, '--region', 'us-east-1', '--output', 'json'],
    })));
    expect(result.stdout).toContain(`ok       dixie-ecs-to-postgres: arrakis-staging-rds (${RDS}) allows tcp 5432 from dixie-armitage-ecs (${ECS})`);
    expect(result.stdout).toContain(`ok       alb-to-dixie: dixie-armitage-ecs (${ECS}) allows tcp 3001 from arrakis-staging-alb (${ALB})`);
    expect(result.stdout).toContain('skipped  dixie-ecs-to-efs: SG_EFS (the EFS mount targets\' security group) is not set');
  });

  it('with SG_EFS, checks that the EFS mount targets admit NFS (tcp 2049) from the tasks', async () => {
    const box = sandbox();
    box.fixture(`ec2_describe-security-group-rules.${RDS}.json`, fx.securityGroupRules(RDS, [{ port: 5432, source: ECS }]));
    box.fixture(`ec2_describe-security-group-rules.${ECS}.json`, fx.securityGroupRules(ECS, [{ port: 3001, source: ALB }]));
    box.fixture(`ec2_describe-security-group-rules.${EFS}.json`, fx.securityGroupRules(EFS, [{ port: 2049, cidr: '10.0.0.0/16' }]));
    const missing = await runScript('check-network.sh', [], box.env({ SG_EFS: EFS }));
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain(`MISSING  dixie-ecs-to-efs: dixie-armitage-efs (${EFS}) does not allow tcp 2049 from dixie-armitage-ecs (${ECS})`);
    expect(missing.stdout).toContain(`aws ec2 authorize-security-group-ingress --group-id ${EFS} --protocol tcp --port 2049 --source-group ${ECS} --region us-east-1`);
    expect(box.calls().map((c) => c.args[3])).toEqual([RDS, ECS, EFS].map((group) => `Name=group-id,Values=${group}`));

    box.fixture(`ec2_describe-security-group-rules.${EFS}.json`, fx.securityGroupRules(EFS, [{ port: 2049, source: ECS }]));
    const present = await runScript('check-network.sh', [], box.env({ SG_EFS: EFS }));
    expect(present.code).toBe(0);
    expect(present.stdout).toContain(`ok       dixie-ecs-to-efs: dixie-armitage-efs (${EFS}) allows tcp 2049 from dixie-armitage-ecs (${ECS})`);
  });

  it('names a missing rule, prints the command that adds it and exits 1', async () => {
    const box = sandbox();
    // Near misses: the right port from a CIDR, and the ECS group on the wrong port.
    box.fixture(`ec2_describe-security-group-rules.${RDS}.json`, fx.securityGroupRules(RDS, [{ port: 5432, cidr: '10.0.0.0/16' }, { port: 5433, source: ECS }]));
    box.fixture(`ec2_describe-security-group-rules.${ECS}.json`, fx.securityGroupRules(ECS, [{ port: 3001, source: ALB }]));
    const result = await runScript('check-network.sh', [], box.env());
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`MISSING  dixie-ecs-to-postgres: arrakis-staging-rds (${RDS}) does not allow tcp 5432 from dixie-armitage-ecs (${ECS})`);
    expect(result.stdout).toContain(
      `aws ec2 authorize-security-group-ingress --group-id ${RDS} --protocol tcp --port 5432 --source-group ${ECS} --region us-east-1`,
    );
    expect(result.stdout).toContain('ok       alb-to-dixie');
    expect(result.stderr).toContain('1 required rule(s) missing');
    expect(box.calls().map((c) => c.args[1])).toEqual(['describe-security-group-rules', 'describe-security-group-rules']);
  });

  it('explains UnauthorizedOperation with ec2:DescribeSecurityGroupRules', async () => {
    const box = sandbox();
    box.fixture(`ec2_describe-security-group-rules.${RDS}.err`, 'An error occurred (UnauthorizedOperation) when calling the DescribeSecurityGroupRules operation: You are not authorized to perform this operation.\n');
    const result = await runScript('check-network.sh', [], box.env());
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('The caller needs IAM permission: ec2:DescribeSecurityGroupRules');
  });
});
