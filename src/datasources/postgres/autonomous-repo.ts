import { NO_CAPABILITIES, type AutonomousPermissions, type Capabilities } from '../../domain/autonomous.js';
import type { Db, Queryable } from './db.js';

export interface AuditEntry {
  id: string;
  nftId: string;
  actorWallet: string;
  changedAt: string;
  before: AutonomousPermissions | null;
  after: AutonomousPermissions;
}

type Row = Record<string, unknown>;

function toPermissions(r: Row): AutonomousPermissions {
  return {
    nftId: String(r.nft_id),
    enabled: Boolean(r.enabled),
    ownerWallet: String(r.owner_wallet),
    delegatedWallets: (r.delegated_wallets as string[] | null) ?? [],
    capabilities: { ...NO_CAPABILITIES, ...(r.capabilities as Partial<Capabilities>) },
    dailyLimitMicroUsd: Number(r.daily_limit_micro_usd),
    updatedAt: new Date(r.updated_at as string | Date).toISOString(),
  };
}

export async function getPermissions(q: Queryable, nftId: string): Promise<AutonomousPermissions | null> {
  const { rows } = await q.query('SELECT * FROM autonomous_permissions WHERE nft_id = $1', [nftId]);
  return rows[0] ? toPermissions(rows[0]) : null;
}

export async function spentToday(q: Queryable, nftId: string): Promise<number> {
  const { rows } = await q.query<{ spent: string }>(
    `SELECT spent_micro_usd AS spent FROM autonomous_spend WHERE nft_id = $1 AND day = (now() AT TIME ZONE 'UTC')::date`,
    [nftId],
  );
  return Number(rows[0]?.spent ?? 0);
}

/**
 * Changes one NFT's permissions under a row lock and writes the audit entry (who, when, before,
 * after) in the same transaction, so no change goes unaudited.
 */
export async function updatePermissions(
  db: Db,
  input: { nftId: string; actorWallet: string; defaults: AutonomousPermissions; change: (before: AutonomousPermissions) => AutonomousPermissions },
): Promise<AutonomousPermissions> {
  return db.transaction(async (tx) => {
    const d = input.defaults;
    const created = await tx.query(
      `INSERT INTO autonomous_permissions (nft_id, enabled, owner_wallet, delegated_wallets, capabilities, daily_limit_micro_usd)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (nft_id) DO NOTHING RETURNING nft_id`,
      [d.nftId, d.enabled, input.actorWallet, d.delegatedWallets, JSON.stringify(d.capabilities), d.dailyLimitMicroUsd],
    );
    const { rows } = await tx.query('SELECT * FROM autonomous_permissions WHERE nft_id = $1 FOR UPDATE', [input.nftId]);
    const current = toPermissions(rows[0]!);
    const before = created.rowCount > 0 ? null : current;
    const next = input.change(created.rowCount > 0 ? { ...d, ownerWallet: input.actorWallet } : current);
    const res = await tx.query(
      `UPDATE autonomous_permissions SET enabled = $2, owner_wallet = $3, delegated_wallets = $4, capabilities = $5,
         daily_limit_micro_usd = $6, updated_at = now() WHERE nft_id = $1 RETURNING *`,
      [input.nftId, next.enabled, next.ownerWallet, next.delegatedWallets, JSON.stringify(next.capabilities), next.dailyLimitMicroUsd],
    );
    const after = toPermissions(res.rows[0]!);
    await tx.query('INSERT INTO autonomous_audit (nft_id, actor_wallet, before, after) VALUES ($1, $2, $3, $4)', [
      input.nftId,
      input.actorWallet,
      before ? JSON.stringify(before) : null,
      JSON.stringify(after),
    ]);
    return after;
  });
}

/** Newest first; `afterId` is the last id of the previous page. */
export async function listAudit(
  q: Queryable,
  nftId: string,
  first: number,
  afterId: string | null,
): Promise<{ nodes: AuditEntry[]; hasNextPage: boolean }> {
  const { rows } = await q.query(
    `SELECT id, nft_id, actor_wallet, changed_at, before, after FROM autonomous_audit
     WHERE nft_id = $1 AND ($2::bigint IS NULL OR id < $2::bigint) ORDER BY id DESC LIMIT $3`,
    [nftId, afterId, first + 1],
  );
  return {
    nodes: rows.slice(0, first).map((r) => ({
      id: String(r.id),
      nftId: String(r.nft_id),
      actorWallet: String(r.actor_wallet),
      changedAt: new Date(r.changed_at as string | Date).toISOString(),
      before: (r.before as AutonomousPermissions | null) ?? null,
      after: r.after as AutonomousPermissions,
    })),
    hasNextPage: rows.length > first,
  };
}
