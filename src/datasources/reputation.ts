import { dixieError } from '../errors.js';
import type { Logger } from '../logger.js';
import { parseQualitySignal, type ReputationAggregate } from '../domain/reputation.js';
import { isValidNftId } from './finn/ids.js';
import type { NatsHandle, NatsMessageMeta } from './nats.js';
import type { Db } from './postgres/index.js';
import { applySignal, readAggregate } from './postgres/reputation-repo.js';

export type { ReputationAggregate } from '../domain/reputation.js';

export const QUALITY_SUBJECT = 'dixie.signal.quality';
/** The durable consumer every instance shares; the msg-id table makes any redelivery harmless. */
export const QUALITY_QUEUE = 'dixie-reputation';

export interface ReputationService {
  get(nftId: string): Promise<ReputationAggregate>;
  /** Applies one signal; 'duplicate' when its message id was already applied, 'invalid' when dropped. */
  handle(data: unknown, meta: Pick<NatsMessageMeta, 'msgId'>): Promise<'applied' | 'duplicate' | 'invalid'>;
  start(): void;
  stop(): void;
}

export function createReputationService(deps: { db: Db | null; nats: NatsHandle | null; logger: Logger }): ReputationService {
  const { db, nats, logger } = deps;
  let off: (() => void) | null = null;
  const drop = (reason: string, msgId: string | null) => {
    logger.warn({ event: 'quality_signal_dropped', reason, msg_id: msgId }, 'invalid quality signal dropped');
    return 'invalid' as const;
  };

  const service: ReputationService = {
    async get(nftId) {
      if (!db) throw dixieError('FEATURE_DISABLED', 'Reputation needs a database (DATABASE_URL)');
      if (!isValidNftId(nftId)) throw dixieError('BAD_USER_INPUT', 'Invalid NFT id', { field: 'nftId' });
      return readAggregate(db, nftId);
    },

    async handle(data, meta) {
      if (!db) return 'invalid';
      // Without a message id a redelivery could not be told apart from a new signal.
      if (!meta.msgId || meta.msgId.length > 256) return drop('missing_msg_id', meta.msgId);
      const signal = parseQualitySignal(data);
      if (typeof signal === 'string') return drop(signal, meta.msgId);
      const agg = await applySignal(db, meta.msgId, signal);
      if (!agg) {
        logger.debug({ event: 'quality_signal_duplicate', msg_id: meta.msgId }, 'quality signal already applied');
        return 'duplicate';
      }
      logger.debug({ event: 'quality_signal_applied', nft_id: agg.nftId, sample_count: agg.sampleCount }, 'quality signal applied');
      return 'applied';
    },

    start() {
      if (!nats || !db || off) return;
      // A signal that fails to apply (PostgreSQL down) is delivered again; its msg id keeps it to one application.
      off = nats.consume(QUALITY_SUBJECT, QUALITY_QUEUE, async (data, meta) => {
        try {
          await service.handle(data, meta);
        } catch (err) {
          logger.warn({ event: 'quality_signal_failed', msg_id: meta.msgId, attempt: meta.attempt, err: err instanceof Error ? err.message : String(err) }, 'quality signal failed');
          throw err;
        }
      });
    },
    stop() {
      off?.();
      off = null;
    },
  };
  return service;
}
