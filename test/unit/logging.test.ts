import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ALERT_LOG_EVENTS } from '../../src/log-events.js';
import { createLogger } from '../../src/logger.js';

function capture(): { lines: Array<Record<string, unknown>>; sink: Writable; text: () => string } {
  const lines: Array<Record<string, unknown>> = [];
  let raw = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw += chunk.toString('utf8');
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  return { lines, sink, text: () => raw };
}

describe('logger redaction', () => {
  it('censors authorization, token, secret, password and signature fields', () => {
    const out = capture();
    const logger = createLogger('info', out.sink);
    logger.info(
      {
        authorization: 'Bearer top-secret-jwt',
        token: 'tok-123-secret',
        secret: 'callback-hmac-secret',
        password: 'pg-password',
        headers: { authorization: 'Bearer nested-jwt', 'x-callback-signature': 'sig-abc' },
        finn: { token: 'finn-auth-token', secret: 'nested-secret', signature: 'sig-def' },
        kept: 'visible',
      },
      'request with credentials',
    );
    const [line] = out.lines;
    expect(line).toMatchObject({
      authorization: '[redacted]',
      token: '[redacted]',
      secret: '[redacted]',
      password: '[redacted]',
      headers: { authorization: '[redacted]', 'x-callback-signature': '[redacted]' },
      finn: { token: '[redacted]', secret: '[redacted]', signature: '[redacted]' },
      kept: 'visible',
    });
    for (const value of ['top-secret-jwt', 'tok-123', 'callback-hmac', 'pg-password', 'nested-jwt', 'sig-abc', 'finn-auth-token', 'nested-secret', 'sig-def']) {
      expect(out.text()).not.toContain(value);
    }
  });
});

describe('alerting log events', () => {
  it('are exactly the events docs/runbook.md lists under "Log events to alert on"', () => {
    const runbook = readFileSync(new URL('../../docs/runbook.md', import.meta.url), 'utf8');
    const section = runbook.split('## Log events to alert on')[1]?.split('\n## ')[0] ?? '';
    const rows = section.split('\n').filter((l) => l.startsWith('|')).slice(2); // past the header and |---|
    const documented = rows.map((r) => /^\| `([a-z_]+)` \|/.exec(r)?.[1]);
    expect(documented.sort()).toEqual([...ALERT_LOG_EVENTS].sort());
  });
});
