// Reproduces deploy/Dockerfile's runtime stage without a Docker engine: the files it copies (read
// from its COPY lines), the deps stage's `npm ci`, then the image's command under Node 24.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copies, envOf, parseDockerfile, stage, userIds, type Stage } from './dockerfile.js';
import { repoRoot } from './helpers.js';

const stages = parseDockerfile(readFileSync(join(repoRoot, 'deploy/Dockerfile'), 'utf8'));
const runtime = stage(stages, 'runtime');
const node24 = realpathSync(join(repoRoot, 'node_modules/.bin/node'));
// npm and the app both run on the repo's Node 24, like in the node:24-slim image. npm keeps the
// rest of the environment (registry CA and proxy settings); the app gets only what it is given.
const PATH = `${dirname(node24)}:${process.env.PATH ?? '/usr/bin:/bin'}`;
const npmEnv = { ...process.env, PATH };

function runs(s: Stage): string[] {
  return s.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
}

function exec(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: npmEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code} in ${cwd}:\n${output.slice(-4000)}`)),
    );
  });
}

async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  await new Promise((ok) => server.close(ok));
  return port;
}

describe('deploy/Dockerfile', () => {
  it('has deps, build and runtime stages as the runbook describes', () => {
    expect(stages.map((s) => s.name)).toEqual(['deps', 'build', 'runtime']);
    for (const s of stages) expect(s.image).toBe('node:24-slim');
    expect(runs(stage(stages, 'deps')).join(' ')).toMatch(/npm ci --omit=dev\b/);
    const build = runs(stage(stages, 'build'));
    expect(build.join(' ')).toMatch(/npm ci --include=dev\b/);
    expect(build.at(-1)).toBe('npm run build');
  });

  it('runs as dixie from /app on port 3001 with a /livez health check', () => {
    const ops = (op: string) => runtime.instructions.filter((i) => i.op === op).map((i) => i.args);
    expect(runtime.workdir).toBe('/app');
    expect(ops('USER')).toEqual(['dixie']);
    // Fixed ids: the EFS access point behind /data is owned by them (docs/runbook.md).
    expect(userIds(runtime, 'dixie')).toEqual({ uid: 10001, gid: 10001 });
    expect(envOf(runtime)).toEqual({ NODE_ENV: 'production', DIXIE_PORT: '3001' });
    expect(ops('EXPOSE')).toEqual(['3001']);
    // The container runs exactly what `npm start` runs (and the benchmark measures).
    const start = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
    expect(JSON.parse(ops('CMD')[0] ?? 'null')).toEqual(start.split(' '));
    expect(start).toMatch(/^node .*dist\/src\/main\.js$/);
    const [healthcheck = ''] = ops('HEALTHCHECK');
    expect(healthcheck).toMatch(/CMD \["node", "-e", ".*fetch\(.*\/livez/);
    expect(healthcheck).not.toMatch(/curl|wget/);
    expect(copies(runtime)).toEqual([
      { from: 'deps', sources: ['/app/node_modules'], dest: './node_modules' },
      { from: 'build', sources: ['/app/dist'], dest: './dist' },
      { from: null, sources: ['migrations'], dest: './migrations' },
      { from: null, sources: ['package.json'], dest: './' },
    ]);
  });

  it('.dockerignore keeps local state and secrets out of the context', () => {
    const ignored = readFileSync(join(repoRoot, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['.git', 'node_modules', 'dist', '.env', '.dixie']) expect(ignored).toContain(entry);
    expect(ignored).not.toContain('test');
  });
});

describe('the runtime stage, reproduced without Docker', () => {
  let work = '';
  let app = '';
  let server: ChildProcess | undefined;
  let finn: Server | undefined;

  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'dixie-runtime-'));
    app = join(work, 'app');
    mkdirSync(app);
  });

  afterAll(async () => {
    if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    await new Promise((ok) => (finn ? finn.close(ok) : ok(undefined)));
    rmSync(work, { recursive: true, force: true });
  });

  it('builds and assembles exactly what the runtime stage copies', { timeout: 180_000 }, async () => {
    await exec('npm', ['run', 'build'], repoRoot);

    // The deps stage: its context files, then its `npm ci`, made offline-friendly.
    const deps = stage(stages, 'deps');
    const depsDir = join(work, 'deps');
    mkdirSync(depsDir);
    for (const copy of copies(deps)) {
      for (const source of copy.sources) cpSync(join(repoRoot, source), join(depsDir, source));
    }
    const npmCi = /npm ci(?:\s+--?[\w=-]+)*/.exec(runs(deps).join(' && '))?.[0].split(/\s+/).slice(1) ?? [];
    for (const flag of ['--prefer-offline', '--no-audit', '--no-fund']) if (!npmCi.includes(flag)) npmCi.push(flag);
    await exec('npm', npmCi, depsDir);

    const stageRoots: Record<string, { dir: string; workdir: string }> = {
      deps: { dir: depsDir, workdir: deps.workdir },
      // After `npm run build` the repo is what the build stage's WORKDIR holds.
      build: { dir: repoRoot, workdir: stage(stages, 'build').workdir },
    };
    for (const copy of copies(runtime)) {
      for (const source of copy.sources) {
        const root = copy.from ? stageRoots[copy.from] : { dir: repoRoot, workdir: '' };
        if (!root) throw new Error(`COPY --from=${copy.from} is not reproduced by this test`);
        const from = copy.from ? join(root.dir, relative(root.workdir, source)) : join(root.dir, source);
        if (!existsSync(from)) throw new Error(`the runtime stage copies ${source}, which does not exist (${from})`);
        const to = copy.dest.endsWith('/') ? join(app, copy.dest, source.split('/').at(-1)!) : join(app, copy.dest);
        cpSync(from, to, { recursive: true, verbatimSymlinks: true });
      }
    }

    expect(readdirSync(app).sort()).toEqual(['dist', 'migrations', 'node_modules', 'package.json']);
    expect(existsSync(join(app, 'dist/src/main.js'))).toBe(true);
    expect(readdirSync(join(app, 'migrations')).filter((f) => f.endsWith('.sql')).length).toBeGreaterThan(0);
    for (const prod of ['graphql-yoga', 'pg', 'pino']) expect(existsSync(join(app, 'node_modules', prod))).toBe(true);
    // typescript stays: it is an optional peer of viem, so --omit=dev keeps it.
    for (const dev of ['vitest', 'tsx', 'node', 'eslint', '@graphql-codegen/cli']) {
      expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
    }
  });

  it('starts with Node 24, becomes ready, reports version 2.0.0 and exits 0 on SIGTERM', { timeout: 180_000 }, async () => {
    expect(existsSync(join(app, 'dist/src/main.js')), 'the assemble step did not finish').toBe(true);
    finn = createServer((req, res) => {
      res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(req.url === '/health' ? JSON.stringify({ status: 'healthy', uptime: 1, checks: {} }) : '{}');
    });
    await new Promise<void>((ok) => finn!.listen(0, '127.0.0.1', ok));
    const finnPort = (finn.address() as AddressInfo).port;
    const port = await freePort();

    const env = {
      PATH,
      HOME: work,
      NODE_ENV: 'production',
      DIXIE_PORT: String(port),
      FINN_URL: `http://127.0.0.1:${finnPort}`,
      DIXIE_JWT_PRIVATE_KEY: 'runtime-stage-test-jwt-secret-0123456789',
      DIXIE_ADMIN_KEY: 'runtime-stage-test-admin-key',
      DIXIE_ALLOWLIST_PATH: join(work, 'data/allowlist.json'),
    };
    const [cmd, ...args] = JSON.parse(runtime.instructions.find((i) => i.op === 'CMD')!.args) as string[];
    expect(cmd).toBe('node');
    const child = spawn(node24, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    server = child;
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exited = new Promise<number | null>((ok) => child.on('exit', (code) => ok(code)));

    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`dixie exited with ${child.exitCode} before /readyz:\n${output.slice(-4000)}`);
      const ready = await fetch(`${base}/readyz`).then((r) => r.status, () => 0);
      if (ready === 200) break;
      if (Date.now() > deadline) throw new Error(`/readyz never answered 200 (last ${ready}):\n${output.slice(-4000)}`);
      await new Promise((ok) => setTimeout(ok, 250));
    }

    expect((await fetch(`${base}/livez`)).status).toBe(200);
    const health = await fetch(`${base}/api/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await health.json()) as { version?: string; status?: string };
    expect(body.version).toBe('2.0.0');
    expect(['healthy', 'degraded', 'unhealthy']).toContain(body.status);

    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<string>((ok) => setTimeout(() => ok('timeout'), 30_000))]);
    expect(code, output.slice(-4000)).toBe(0);
  });
});
