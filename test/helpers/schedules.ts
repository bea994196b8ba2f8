import pg from 'pg';
import { signCallback, type FinnSim } from '../finn-sim/index.js';
import { walletAuth } from './auth.js';
import { waitFor, type TestDixie } from './dixie.js';

export const CREATE_SCHEDULE = /* GraphQL */ `
  mutation Create($input: CreateScheduleInput!) {
    createSchedule(input: $input) {
      parsed { cron humanReadable nextFireAt }
      needsConfirmation
      schedule { id nftId name status firedBy cron humanReadable prompt maxFires fireCount nextFireAt }
    }
  }
`;

export interface CreatedSchedule {
  id: string;
  nftId: string;
  status: string;
  firedBy: string | null;
  cron: string;
  nextFireAt: string | null;
  fireCount: number;
}

/** A wallet with `bgtStaked` (20000 = SOVEREIGN, 200 = BUILDER, 50 = PARTICIPANT) owning `nftIds` in Finn. */
export function giveWallet(sim: FinnSim, wallet: string, bgtStaked: number, nftIds: string[] = []): void {
  sim.control.setStaking(wallet, bgtStaked);
  sim.control.setNfts(
    wallet,
    nftIds.map((nftId) => ({ nftId, ownerWallet: wallet })),
  );
}

export async function createSchedule(
  d: TestDixie,
  wallet: string,
  input: { nftId: string; expression: string; prompt: string; name?: string; maxFires?: number },
) {
  return d.gql<{ createSchedule: { schedule: CreatedSchedule; parsed: { cron: string; humanReadable: string; nextFireAt: string }; needsConfirmation: boolean } }>(
    CREATE_SCHEDULE,
    { input },
    await walletAuth(wallet),
  );
}

/** Direct SQL against the test schema (setup and assertions only; Dixie itself is never bypassed otherwise). */
export async function sql<R extends Record<string, unknown> = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** Waits until the schedule's first execution is no longer RUNNING, and returns it. */
export async function settledExecution(url: string, scheduleId: string, timeoutMs: number) {
  await waitFor(async () => (await executionsOf(url, scheduleId))[0]?.status !== 'RUNNING', { timeoutMs, what: 'the firing settled' });
  return (await executionsOf(url, scheduleId))[0]!;
}

/** Makes a schedule due now (its next fire time in the past). */
export async function makeDue(url: string, scheduleId: string, agoMs = 1_000): Promise<Date> {
  const rows = await sql<{ next_fire_at: Date }>(
    url,
    `UPDATE schedules SET next_fire_at = date_trunc('milliseconds', now()) - ($2::double precision * interval '1 millisecond') WHERE id = $1 RETURNING next_fire_at`,
    [scheduleId, agoMs],
  );
  return rows[0]!.next_fire_at;
}

/** Finn prompts sent for one execution (the scheduler tags them with the execution id). */
export function promptsFor(sim: FinnSim, executionId: string): number {
  return sim.control.requests.filter((r) => r.route === 'sessions.message' && r.headers['x-request-id'] === `schedule-${executionId}`).length;
}

/** An instance's log lines of `event` about one execution. */
export function executionLogs(d: TestDixie, event: string, executionId: string) {
  return d.logs.filter((l) => l.event === event && l.execution_id === executionId);
}

export async function executionsOf(url: string, scheduleId: string) {
  return sql<{ id: string; status: string; fire_at: Date | null; source: string; attempts: number; error: string | null; message_id: string | null }>(
    url,
    'SELECT id, status, fire_at, source, attempts, error, message_id FROM schedule_executions WHERE schedule_id = $1 ORDER BY id',
    [scheduleId],
  );
}

/** POSTs a Finn callback to one instance, signed like Finn (signCallback) unless told otherwise. */
export async function postCallback(
  url: string,
  body: unknown,
  opts: { secret?: string; scheduleId?: string; timestamp?: string; signature?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const timestamp = opts.timestamp ?? String(Math.floor(Date.now() / 1000));
  const scheduleId = opts.scheduleId ?? (body as { scheduleId?: string })?.scheduleId ?? '';
  const signature = opts.signature ?? signCallback(opts.secret ?? 'test-secret', scheduleId, timestamp);
  const res = await fetch(`${url}/api/schedule/callback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-callback-timestamp': timestamp, 'x-callback-signature': signature, ...opts.headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
