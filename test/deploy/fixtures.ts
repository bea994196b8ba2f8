// Canned AWS CLI answers, shaped like the real `--output json` responses.

export const registry = '891376933289.dkr.ecr.us-east-1.amazonaws.com';
const taskDefArn = (rev: number) => `arn:aws:ecs:us-east-1:891376933289:task-definition/dixie-armitage:${rev}`;

export const readOnlyFields = [
  'taskDefinitionArn',
  'revision',
  'status',
  'requiresAttributes',
  'compatibilities',
  'registeredAt',
  'registeredBy',
];

export const registrable = {
  family: 'dixie-armitage',
  networkMode: 'awsvpc',
  requiresCompatibilities: ['FARGATE'],
  cpu: '512',
  memory: '1024',
  executionRoleArn: 'arn:aws:iam::891376933289:role/dixie-armitage-execution',
  containerDefinitions: [
    {
      name: 'dixie',
      image: `${registry}/dixie-armitage:0ld5ha1`,
      essential: true,
      portMappings: [{ containerPort: 3001, hostPort: 3001, protocol: 'tcp' }],
      environment: [{ name: 'NODE_ENV', value: 'production' }],
    },
    { name: 'log-router', image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0', essential: false },
  ],
};

export const describeTaskDefinition = {
  taskDefinition: {
    ...registrable,
    taskDefinitionArn: taskDefArn(41),
    revision: 41,
    status: 'ACTIVE',
    requiresAttributes: [{ name: 'com.amazonaws.ecs.capability.ecr-auth' }],
    compatibilities: ['EC2', 'FARGATE'],
    registeredAt: '2026-02-27T10:00:00.000000+00:00',
    registeredBy: 'arn:aws:iam::891376933289:user/ops',
  },
  tags: [],
};

export const registerTaskDefinition = {
  taskDefinition: { ...registrable, taskDefinitionArn: taskDefArn(42), revision: 42, status: 'ACTIVE' },
};

interface Deployment {
  id: string;
  status: 'PRIMARY' | 'ACTIVE';
  rev: number;
  rolloutState: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  running: number;
  createdAt: string;
  reason?: string;
}

function deployment(d: Deployment) {
  return {
    id: d.id,
    status: d.status,
    taskDefinition: taskDefArn(d.rev),
    desiredCount: 2,
    runningCount: d.running,
    pendingCount: 2 - d.running,
    failedTasks: 0,
    createdAt: d.createdAt,
    updatedAt: d.createdAt,
    launchType: 'FARGATE',
    rolloutState: d.rolloutState,
    rolloutStateReason: d.reason ?? 'ECS deployment in progress.',
  };
}

export function describeServices(deployments: Deployment[], events: { message: string; createdAt: string }[] = []) {
  return {
    services: [
      {
        serviceName: 'dixie-armitage',
        clusterArn: 'arn:aws:ecs:us-east-1:891376933289:cluster/arrakis-staging-cluster',
        status: 'ACTIVE',
        desiredCount: 2,
        deployments: deployments.map(deployment),
        events: events.map((e, i) => ({ id: `evt-${i}`, ...e })),
      },
    ],
    failures: [],
  };
}

const t0 = '2026-02-28T12:00:00.000000+00:00';
const t1 = '2026-02-28T12:01:30.500000+00:00';
const newPrimary = { id: 'ecs-svc/222', status: 'PRIMARY', rev: 42, createdAt: t0 } as const;
const oldActive = { id: 'ecs-svc/111', status: 'ACTIVE', rev: 41, createdAt: '2026-02-27T10:00:00+00:00' } as const;

export const rolloutInProgress = describeServices([
  { ...newPrimary, rolloutState: 'IN_PROGRESS', running: 1 },
  { ...oldActive, rolloutState: 'COMPLETED', running: 2 },
]);

export const rolloutCompleted = describeServices(
  [{ ...newPrimary, rolloutState: 'COMPLETED', running: 2, reason: 'ECS deployment ecs-svc/222 completed.' }],
  // An old circuit-breaker event from an earlier deployment must not fail this one.
  [{ message: '(service dixie-armitage) rolling back to deployment ecs-svc/090.', createdAt: '2026-02-20T09:00:00+00:00' }],
);

export const rolloutCircuitBreaker = describeServices(
  [
    { id: 'ecs-svc/333', status: 'PRIMARY', rev: 41, createdAt: t1, rolloutState: 'IN_PROGRESS', running: 1 },
    {
      ...newPrimary,
      status: 'ACTIVE',
      rolloutState: 'FAILED',
      running: 0,
      reason: 'ECS deployment circuit breaker: tasks failed to start.',
    },
  ],
  [
    { message: '(service dixie-armitage) rolling back to deployment ecs-svc/111.', createdAt: t1 },
    { message: '(service dixie-armitage) (deployment ecs-svc/222) deployment failed: tasks failed to start.', createdAt: t1 },
  ],
);

// An operator's rollback (deploy/rollback.sh 41) after ECS gave up: the FAILED deployment and its
// circuit-breaker events predate the new PRIMARY.
const t2 = '2026-02-28T12:20:00+00:00';
export const manualRollbackInProgress = describeServices(
  [
    { id: 'ecs-svc/555', status: 'PRIMARY', rev: 41, createdAt: t2, rolloutState: 'IN_PROGRESS', running: 1 },
    { ...newPrimary, status: 'ACTIVE', rolloutState: 'FAILED', running: 0, reason: 'ECS deployment circuit breaker: tasks failed to start.' },
  ],
  [{ message: '(service dixie-armitage) (deployment ecs-svc/222) deployment failed: circuit breaker triggered.', createdAt: t1 }],
);
export const manualRollbackCompleted = describeServices([
  { id: 'ecs-svc/555', status: 'PRIMARY', rev: 41, createdAt: t2, rolloutState: 'COMPLETED', running: 2 },
]);

export const rollbackTo41Completed = describeServices([
  { id: 'ecs-svc/444', status: 'PRIMARY', rev: 41, createdAt: t1, rolloutState: 'COMPLETED', running: 2 },
]);

export const updateService = (rev: number) => ({
  service: { serviceName: 'dixie-armitage', deployments: [deployment({ ...newPrimary, rev, rolloutState: 'IN_PROGRESS', running: 0 })] },
});

export function securityGroupRules(groupId: string, ingress: { port: number; source?: string; cidr?: string }[]) {
  return {
    SecurityGroupRules: [
      {
        SecurityGroupRuleId: `sgr-${groupId}-egress`,
        GroupId: groupId,
        IsEgress: true,
        IpProtocol: '-1',
        FromPort: -1,
        ToPort: -1,
        CidrIpv4: '0.0.0.0/0',
      },
      ...ingress.map((rule, i) => ({
        SecurityGroupRuleId: `sgr-${groupId}-${i}`,
        GroupId: groupId,
        IsEgress: false,
        IpProtocol: 'tcp',
        FromPort: rule.port,
        ToPort: rule.port,
        ...(rule.source ? { ReferencedGroupInfo: { GroupId: rule.source, UserId: '891376933289' } } : {}),
        ...(rule.cidr ? { CidrIpv4: rule.cidr } : {}),
      })),
    ],
  };
}

export const accessDenied = (action: string) =>
  `\nAn error occurred (AccessDeniedException) when calling the ${action.split(':')[1]} operation: ` +
  `User: arn:aws:iam::891376933289:user/ci is not authorized to perform: ${action} on resource: ` +
  `arn:aws:ecs:us-east-1:891376933289:service/arrakis-staging-cluster/dixie-armitage because no identity-based policy allows the ${action} action\n`;
