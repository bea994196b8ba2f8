import { connect } from 'nats';
import { NATS_URL } from './helpers/services.js';

/** Test streams are named after a test tag (`<name>_<8 hex>`), as the durable consumers make them. */
const TEST_STREAM = /_[0-9A-F]{8}_DIXIE_[A-Z_]+$/;
const STALE_MS = 3_600_000;

/**
 * Every test run makes JetStream streams named after its tags (the quality-signal work queue of
 * each Dixie started with a NATS prefix). A run removes those left by runs that ended over an hour
 * ago, never a stream a run going on now may use.
 */
export default async function removeStaleTestStreams(): Promise<void> {
  const nc = await connect({ servers: NATS_URL, timeout: 2_000 }).catch(() => null);
  if (!nc) return;
  try {
    const jsm = await nc.jetstreamManager({ timeout: 2_000 });
    for await (const s of jsm.streams.list()) {
      if (TEST_STREAM.test(s.config.name) && Date.now() - Date.parse(s.created) > STALE_MS) await jsm.streams.delete(s.config.name);
    }
  } catch {
    // No JetStream here: nothing to remove.
  } finally {
    await nc.close();
  }
}
