import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const deployDir = join(repoRoot, 'deploy');

// Fake AWS CLI: logs argv as one line (fields split by \x1f), saves any file:// input, answers from fixture files
// `<service>_<operation>[.<group-id>][.<call-number>].json`, or fails with `<key>.err` on stderr.
const fakeAws = `#!/usr/bin/env bash
set -u
{ printf aws; printf '\x1f%s' "$@"; printf '\n'; } >>"$FAKE_DIR/calls.log"
key="$1_$2"
for a in "$@"; do
  case $a in
    Name=group-id,Values=*) key+=".\${a#Name=group-id,Values=}" ;;
    file://*) cp "\${a#file://}" "$FAKE_DIR/$key.input.json" ;;
  esac
done
n=$(( $(cat "$FAKE_DIR/$key.count" 2>/dev/null || echo 0) + 1 ))
echo "$n" >"$FAKE_DIR/$key.count"
if [[ -f "$FAKE_DIR/$key.err" ]]; then cat "$FAKE_DIR/$key.err" >&2; exit 254; fi
if [[ -f "$FAKE_DIR/$key.$n.json" ]]; then cat "$FAKE_DIR/$key.$n.json"; exit 0; fi
if [[ -f "$FAKE_DIR/$key.json" ]]; then cat "$FAKE_DIR/$key.json"; exit 0; fi
echo "fake aws: no fixture for $key" >&2
exit 255
`;

const fakeDocker = `#!/usr/bin/env bash
set -u
{ printf docker; printf '\x1f%s' "$@"; printf '\n'; } >>"$FAKE_DIR/calls.log"
if [[ $1 == login ]]; then cat >"$FAKE_DIR/docker-login.stdin"; fi
if [[ -f "$FAKE_DIR/docker_$1.err" ]]; then cat "$FAKE_DIR/docker_$1.err" >&2; exit 1; fi
exit 0
`;

// What the scripts need from the system when PATH is cut down to test a missing tool.
const systemTools = ['bash', 'env', 'dirname', 'mktemp', 'rm', 'cat', 'cp', 'grep', 'tee', 'sleep', 'git', 'jq', 'curl'];

export interface Call {
  cmd: string;
  args: string[];
}

export interface Sandbox {
  dir: string;
  fixture(name: string, body: unknown): void;
  calls(): Call[];
  file(name: string): string;
  env(extra?: Record<string, string>): Record<string, string>;
  cleanup(): void;
}

export interface SandboxOptions {
  /** Fakes not to install (e.g. ['docker']). */
  omitFakes?: string[];
  /** Replace the system part of PATH with only the tools the scripts use, minus these. */
  restrictPath?: { omit: string[] };
}

export function createSandbox(options: SandboxOptions = {}): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), 'dixie-deploy-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const fakes: Record<string, string> = { aws: fakeAws, docker: fakeDocker };
  for (const [name, body] of Object.entries(fakes)) {
    if (options.omitFakes?.includes(name)) continue;
    writeFileSync(join(bin, name), body);
    chmodSync(join(bin, name), 0o755);
  }
  let systemPath = process.env.PATH ?? '/usr/bin:/bin';
  if (options.restrictPath) {
    const sys = join(dir, 'sys');
    mkdirSync(sys);
    for (const tool of systemTools) {
      if (options.restrictPath.omit.includes(tool)) continue;
      const found = execFileSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      symlinkSync(found, join(sys, tool));
    }
    systemPath = sys;
  }
  return {
    dir,
    fixture(name, body) {
      writeFileSync(join(dir, name), typeof body === 'string' ? body : JSON.stringify(body));
    },
    calls() {
      const log = join(dir, 'calls.log');
      if (!existsSync(log)) return [];
      return readFileSync(log, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => {
          const [cmd = '', ...args] = line.split('\x1f');
          return { cmd, args };
        });
    },
    file(name) {
      return readFileSync(join(dir, name), 'utf8');
    },
    env(extra = {}) {
      return {
        PATH: `${bin}:${systemPath}`,
        HOME: dir,
        TMPDIR: dir,
        FAKE_DIR: dir,
        VERIFY_INTERVAL_S: '0.05',
        VERIFY_TIMEOUT_S: '20',
        ...extra,
      };
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ScriptResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a deploy script asynchronously, so in-process HTTP fakes keep answering meanwhile. */
export function runScript(script: string, args: string[], env: Record<string, string>): Promise<ScriptResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(join(deployDir, script), args, { env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

export interface HealthServer {
  url: string;
  hits(): number;
  close(): Promise<void>;
}

/** Answers GET /api/health with the given statuses in order, repeating the last one. */
export async function startHealthServer(statuses: string[]): Promise<HealthServer> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    if (req.url !== '/api/health') {
      res.writeHead(404).end();
      return;
    }
    const status = statuses[Math.min(hits, statuses.length - 1)];
    hits += 1;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status, version: '2.0.0' }));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () => new Promise((ok) => server.close(() => ok())),
  };
}
