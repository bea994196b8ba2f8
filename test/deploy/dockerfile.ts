// A small Dockerfile reader for the tests: enough of the syntax deploy/Dockerfile uses (global ARG
// defaults, FROM … AS, continuation lines, comments, COPY with flags or JSON form).

export interface Instruction {
  op: string;
  args: string;
}

export interface Stage {
  name: string;
  image: string;
  workdir: string;
  instructions: Instruction[];
}

export interface Copy {
  from: string | null;
  sources: string[];
  dest: string;
}

function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (current !== '' && line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1).trim()} `;
      continue;
    }
    lines.push(`${current}${line}`.trim());
    current = '';
  }
  if (current.trim() !== '') lines.push(current.trim());
  return lines;
}

export function parseDockerfile(text: string): Stage[] {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logicalLines(text)) {
    const match = /^(\S+)\s*(.*)$/.exec(line);
    if (!match) continue;
    const op = match[1]!.toUpperCase();
    const args = match[2] ?? '';
    const stage = stages.at(-1);
    if (op === 'ARG' && !stage) {
      const [key = '', value = ''] = args.split('=', 2);
      globalArgs.set(key, value);
    } else if (op === 'FROM') {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!from) throw new Error(`cannot read FROM ${args}`);
      const image = from[1]!.replace(/\$\{?(\w+)\}?/g, (_, key: string) => globalArgs.get(key) ?? '');
      stages.push({ name: from[2] ?? String(stages.length), image, workdir: '/', instructions: [] });
    } else if (stage) {
      if (op === 'WORKDIR') stage.workdir = args.startsWith('/') ? args : `${stage.workdir.replace(/\/$/, '')}/${args}`;
      stage.instructions.push({ op, args });
    }
  }
  return stages;
}

export function stage(stages: Stage[], name: string): Stage {
  const found = stages.find((s) => s.name === name);
  if (!found) throw new Error(`no stage named ${name} in deploy/Dockerfile`);
  return found;
}

export function copies(s: Stage): Copy[] {
  return s.instructions
    .filter((i) => i.op === 'COPY')
    .map((i) => {
      let rest = i.args;
      let from: string | null = null;
      for (let flag = /^--(\w+)=(\S+)\s+/.exec(rest); flag; flag = /^--(\w+)=(\S+)\s+/.exec(rest)) {
        if (flag[1] === 'from') from = flag[2]!;
        rest = rest.slice(flag[0].length);
      }
      const parts = rest.startsWith('[') ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
      const dest = parts.pop();
      if (!dest || parts.length === 0) throw new Error(`cannot read COPY ${i.args}`);
      return { from, sources: parts, dest };
    });
}

/** Values of `ENV a=b c=d` instructions (the key=value form only). */
export function envOf(s: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of s.instructions.filter((x) => x.op === 'ENV')) {
    for (const pair of i.args.split(/\s+/)) {
      const [key = '', value = ''] = pair.split('=', 2);
      env[key] = value;
    }
  }
  return env;
}

/** The uid and gid a stage's RUN lines give `user` with `useradd --uid` / `groupadd --gid`; null when not fixed. */
export function userIds(s: Stage, user: string): { uid: number; gid: number } | null {
  const commands = s.instructions.filter((i) => i.op === 'RUN').flatMap((i) => i.args.split(/&&|;/));
  const idOf = (tool: string, flag: string): number | null => {
    const command = commands.find((c) => new RegExp(`\\b${tool}\\b.*\\s${user}\\s*$`).test(c.trim()));
    const id = command ? new RegExp(`\\s${flag}[ =](\\d+)\\b`).exec(command)?.[1] : undefined;
    return id === undefined ? null : Number(id);
  };
  const uid = idOf('useradd', '--uid');
  const gid = idOf('groupadd', '--gid');
  return uid === null || gid === null ? null : { uid, gid };
}
