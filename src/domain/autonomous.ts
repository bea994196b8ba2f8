import { getAddress, isAddress } from 'viem';

export const CAPABILITIES = ['chatInitiate', 'knowledgeSearch', 'scheduleManage', 'memoryWrite', 'toolExecute', 'agentCommunicate'] as const;
export type Capability = (typeof CAPABILITIES)[number];
export type Capabilities = Record<Capability, boolean>;

/** The stored permissions of one NFT (domain.md, Autonomous mode). */
export interface AutonomousPermissions {
  nftId: string;
  enabled: boolean;
  ownerWallet: string | null;
  delegatedWallets: string[];
  capabilities: Capabilities;
  dailyLimitMicroUsd: number;
  updatedAt: string | null;
}

export interface AutonomousUpdate {
  enabled?: boolean | null;
  delegatedWallets?: readonly string[] | null;
  capabilities?: Partial<Record<Capability, boolean | null>> | null;
  dailyLimitMicroUsd?: number | null;
}

export class AutonomousInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'AutonomousInputError';
  }
}

export const NO_CAPABILITIES: Readonly<Capabilities> = Object.freeze(
  Object.fromEntries(CAPABILITIES.map((c) => [c, false])) as Capabilities,
);

export function defaultPermissions(nftId: string, dailyLimitMicroUsd: number): AutonomousPermissions {
  return {
    nftId,
    enabled: false,
    ownerWallet: null,
    delegatedWallets: [],
    capabilities: { ...NO_CAPABILITIES },
    dailyLimitMicroUsd,
    updatedAt: null,
  };
}

const MAX_DELEGATES = 20;
const MAX_BUDGET = 1e12;

/** Merges a partial update into the current permissions; omitted or null fields keep their value. */
export function applyUpdate(before: AutonomousPermissions, update: AutonomousUpdate, ownerWallet: string): AutonomousPermissions {
  const after: AutonomousPermissions = { ...before, capabilities: { ...before.capabilities }, ownerWallet };
  if (update.enabled !== undefined && update.enabled !== null) after.enabled = update.enabled;
  if (update.delegatedWallets) {
    if (update.delegatedWallets.length > MAX_DELEGATES) {
      throw new AutonomousInputError('delegatedWallets', `At most ${MAX_DELEGATES} delegated wallets`);
    }
    const wallets = update.delegatedWallets.map((w) => {
      if (!isAddress(w)) throw new AutonomousInputError('delegatedWallets', 'Invalid Ethereum address');
      return getAddress(w);
    });
    after.delegatedWallets = [...new Set(wallets)];
  }
  for (const cap of CAPABILITIES) {
    const v = update.capabilities?.[cap];
    if (v !== undefined && v !== null) after.capabilities[cap] = v;
  }
  if (update.dailyLimitMicroUsd !== undefined && update.dailyLimitMicroUsd !== null) {
    const b = update.dailyLimitMicroUsd;
    if (!Number.isSafeInteger(b) || b < 0 || b > MAX_BUDGET) {
      throw new AutonomousInputError('dailyLimitMicroUsd', `dailyLimitMicroUsd must be an integer between 0 and ${MAX_BUDGET}`);
    }
    after.dailyLimitMicroUsd = b;
  }
  return after;
}
