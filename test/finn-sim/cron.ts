import { createHmac, randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { bump, pushLog, type SimState } from './state.js';
import type { CronFiring } from './types.js';

export interface FireCronOptions {
  /** Defaults to a fresh `msg_<uuid>`; `null` omits the field. */
  messageId?: string | null;
  /** Unix seconds; defaults to now (use an old value to test Dixie's 300 s window). */
  timestamp?: number | string;
  /** Signs with this secret instead of the configured one. */
  secret?: string;
  /** Sends this signature verbatim (e.g. an upper-cased digest). */
  signature?: string;
  timeoutMs?: number;
}

/** rest.md: lowercase hex HMAC-SHA256 of `<scheduleId>:<timestamp>`, keyed with the UTF-8 secret. */
export function signCallback(secret: string, scheduleId: string, timestamp: string): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8')).update(`${scheduleId}:${timestamp}`, 'utf8').digest('hex');
}

interface PostResult {
  status: number;
  body: unknown;
}

/** One-shot connection (no agent) so a firing never leaves a pooled socket behind. */
function post(url: URL, headers: Record<string, string>, payload: string, timeoutMs: number): Promise<PostResult> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'POST', headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`callback timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Finn running a cron registered through B7: POST the signed callback to Dixie. */
export async function fireCron(state: SimState, cronId: string, opts: FireCronOptions = {}): Promise<CronFiring> {
  const cron = state.crons.get(cronId);
  if (!cron) throw new Error(`finn-sim: unknown cronId ${cronId}`);
  if (cron.deleted) throw new Error(`finn-sim: cron ${cronId} was deleted`);
  const timestamp = String(opts.timestamp ?? Math.floor(Date.now() / 1000));
  const signature = opts.signature ?? signCallback(opts.secret ?? state.config.callbackSecret, cron.scheduleId, timestamp);
  const messageId = opts.messageId === undefined ? `msg_${randomUUID()}` : opts.messageId;
  const payload = JSON.stringify({ scheduleId: cron.scheduleId, ...(messageId === null ? {} : { messageId }) });
  const firing: CronFiring = {
    cronId, scheduleId: cron.scheduleId, callbackUrl: cron.callbackUrl, timestamp, signature,
    messageId, status: null, body: null,
  };
  try {
    const result = await post(new URL(cron.callbackUrl), {
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(payload)),
      'x-callback-timestamp': timestamp,
      'x-callback-signature': signature,
    }, payload, opts.timeoutMs ?? 5000);
    firing.status = result.status;
    firing.body = result.body;
  } catch (err) {
    firing.error = err instanceof Error ? err.message : String(err);
  }
  pushLog(state, state.cronFirings, firing);
  bump(state, 'cron.fired');
  state.events.emit('cron-fired', firing);
  return firing;
}
