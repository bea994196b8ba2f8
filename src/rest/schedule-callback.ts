import type { ReplayGuard } from '../datasources/replay-guard.js';
import type { ScheduleService } from '../datasources/schedules.js';
import { checkCallback, REPLAY_PENDING_S, REPLAY_TTL_S } from '../domain/callback-signature.js';
import { LogEvent } from '../log-events.js';
import { sendError, sendJson } from './http.js';
import type { RestRequest, RestRoute } from './router.js';

const INVALID = 'Invalid callback signature';

function header(r: RestRequest, name: string): string | null {
  const v = r.req.headers[name];
  return typeof v === 'string' && v !== '' ? v : null;
}

function field(body: unknown, name: string): string | null {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return null;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' && v !== '' ? v : null;
}

/**
 * POST /api/schedule/callback (rest.md): Finn's signed report that it fired a cron it holds.
 * Not rate limited: it is authenticated by HMAC before any work, Finn is one caller whose
 * callbacks bunch up at popular minutes (09:00), and a per-IP budget would drop real firings.
 */
export function scheduleCallbackRoutes(deps: {
  schedules: ScheduleService;
  replay: ReplayGuard;
  secret: string;
  nowS?: () => number;
}): RestRoute[] {
  const nowS = deps.nowS ?? (() => Math.floor(Date.now() / 1000));
  return [
    {
      method: 'POST',
      path: '/api/schedule/callback',
      rateLimited: false,
      async handle(r) {
        const reject = (reason: string, message = INVALID) => {
          r.logger.warn({ event: LogEvent.callbackRejected, reason }, 'schedule callback rejected');
          sendError(r.res, 401, 'unauthorized', message);
        };
        const scheduleId = field(r.body, 'scheduleId');
        if (!scheduleId) return sendError(r.res, 400, 'invalid_request', 'scheduleId required');
        const signature = header(r, 'x-callback-signature');
        const timestamp = header(r, 'x-callback-timestamp');
        if (!signature || !timestamp) return reject('missing_headers', 'x-callback-signature and x-callback-timestamp headers required');
        const check = checkCallback({ secret: deps.secret, scheduleId, timestamp, signature, nowS: nowS() });
        if (check !== 'ok') return reject(check);
        const replayKey = `schedule-callback:${signature}`;
        // Held briefly until the callback is recorded: an instance that dies in between must not
        // make Finn's retry of the same callback a "replay" for the whole window.
        if (!(await deps.replay.firstUse(replayKey, REPLAY_PENDING_S))) return reject('replay');
        const messageId = field(r.body, 'messageId');
        let execution;
        try {
          execution = await deps.schedules.recordCallback({ scheduleId, messageId, signature });
        } catch (err) {
          // Not recorded: let Finn retry the same callback.
          await deps.replay.forget(replayKey);
          throw err;
        }
        await deps.replay.confirm(replayKey, REPLAY_TTL_S);
        const recordedMessageId = execution?.messageId ?? messageId;
        sendJson(r.res, 200, {
          scheduleId,
          firedAt: execution?.firedAt ?? new Date().toISOString(),
          status: execution?.status === 'SUCCESS' ? 'success' : 'skipped',
          ...(recordedMessageId ? { messageId: recordedMessageId } : {}),
        });
      },
    },
  ];
}
