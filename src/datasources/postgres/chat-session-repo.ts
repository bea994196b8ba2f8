import type { Db } from './db.js';

/** Dixie's record that a wallet owns a Finn session. */
export interface ChatSessionRecord {
  id: string;
  /** Lower-case wallet address. */
  ownerWallet: string;
  nftId: string | null;
  createdAt: Date;
}

export interface ChatSessionRepo {
  create(record: ChatSessionRecord): Promise<void>;
  /** The owner's sessions, newest first. */
  listByOwner(wallet: string, limit: number): Promise<ChatSessionRecord[]>;
  get(id: string): Promise<ChatSessionRecord | null>;
}

interface Row {
  id: string;
  owner_wallet: string;
  nft_id: string | null;
  created_at: Date | string;
}

const toRecord = (r: Row): ChatSessionRecord => ({
  id: r.id,
  ownerWallet: r.owner_wallet,
  nftId: r.nft_id,
  createdAt: new Date(r.created_at),
});

export function createPgChatSessionRepo(db: Db): ChatSessionRepo {
  return {
    async create(r) {
      await db.query('INSERT INTO chat_sessions (id, owner_wallet, nft_id, created_at) VALUES ($1, $2, $3, $4)', [
        r.id,
        r.ownerWallet.toLowerCase(),
        r.nftId,
        r.createdAt,
      ]);
    },
    async listByOwner(wallet, limit) {
      const { rows } = await db.query<Row>(
        'SELECT id, owner_wallet, nft_id, created_at FROM chat_sessions WHERE owner_wallet = $1 ORDER BY created_at DESC, id LIMIT $2',
        [wallet.toLowerCase(), limit],
      );
      return rows.map(toRecord);
    },
    async get(id) {
      const { rows } = await db.query<Row>('SELECT id, owner_wallet, nft_id, created_at FROM chat_sessions WHERE id = $1', [id]);
      return rows[0] ? toRecord(rows[0]) : null;
    },
  };
}

/** Without a database: kept in process, bounded (Finn itself keeps at most 100 sessions). */
export function createMemoryChatSessionRepo(maxEntries = 10_000): ChatSessionRepo {
  const byId = new Map<string, ChatSessionRecord>();
  return {
    async create(r) {
      if (byId.size >= maxEntries) {
        const oldest = byId.keys().next();
        if (!oldest.done) byId.delete(oldest.value);
      }
      byId.set(r.id, { ...r, ownerWallet: r.ownerWallet.toLowerCase() });
    },
    async listByOwner(wallet, limit) {
      const owner = wallet.toLowerCase();
      return [...byId.values()]
        .filter((r) => r.ownerWallet === owner)
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
        .slice(0, limit);
    },
    async get(id) {
      return byId.get(id) ?? null;
    },
  };
}

export function createChatSessionRepo(db: Db | null): ChatSessionRepo {
  return db ? createPgChatSessionRepo(db) : createMemoryChatSessionRepo();
}
