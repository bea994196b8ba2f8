import type { IncomingHttpHeaders } from 'node:http';

/** One Finn → client WebSocket frame (finn.md A.3). */
export interface FinnFrame {
  type: string;
  data?: Record<string, unknown>;
}

export interface StreamConfig {
  /** Number of `text_delta` frames per run. */
  deltas: number;
  /** Delay before each frame of a run (and the total run time of the synchronous message call). */
  delayMs: number;
  /** Emit a `knowledge_search` tool_start/tool_end pair after the deltas. */
  tools: boolean;
  /** `cost_cu` reported in `turn_end` (Finn sends CU amounts as decimal strings). */
  costCu: number;
  /** Frames sent after the tool pair and before `turn_end` (e.g. compaction, credit_warning). */
  extraFrames: FinnFrame[];
}

export interface SimOptions {
  port: number;
  host: string;
  /** Finn's bearer token; `null` disables auth (Finn's dev mode). */
  token: string | null;
  /** Key of the callback HMAC (Dixie's DIXIE_SCHEDULE_CALLBACK_SECRET). */
  callbackSecret: string;
  wsLimitPerIp: number;
  idleTimeoutMs: number;
  maxSessions: number;
  /** A session with no activity for this long is evicted (Finn: 30 min); later calls get 404 SESSION_NOT_FOUND. */
  sessionIdleMs: number;
  maxPayloadBytes: number;
  model: string;
  initialBalanceCu: number;
  stream: Partial<StreamConfig>;
  /** Maximum entries kept in each log (requests, wsConnections, cronFirings). */
  logLimit: number;
  /** Frames kept per WebSocket connection log, each way (0 keeps none: benchmarks). */
  frameLogLimit: number;
  /** Source of randomness for the error-rate fault (inject for determinism). */
  random: () => number;
  /**
   * Called right after a stream frame is handed to a client socket (the chat benchmark stamps each
   * delta's wall-clock send time with it, in bench/servers/finn-sim.ts).
   */
  onFrameSent?: (sessionId: string, frame: FinnFrame) => void;
  /**
   * Called when a stream socket is accepted for an existing session (the chat benchmark replays
   * when Dixie opened its Finn sockets in the direct run, in bench/servers/finn-sim.ts).
   */
  onSocketOpened?: (sessionId: string) => void;
}

export interface NftFixture {
  nftId: string;
  contractAddress: string;
  tokenId: string;
  ownerWallet: string;
  delegatedWallets: string[];
}

export interface KnowledgeDomain {
  name: string;
  documentCount: number;
  lastUpdated: string;
}

export interface KnowledgeMetadata {
  domains: KnowledgeDomain[];
  totalDocuments: number;
}

export interface OracleIdentity {
  nftId: string;
  name: string;
  damp96_summary: Record<string, number> | null;
  beauvoir_hash: string | null;
}

export interface Beauvoir {
  nftId: string;
  name: string;
  traits: string[];
  antiNarration: string[];
  damp96Summary: Record<string, number>;
  version: number;
  lastEvolved: string;
}

export interface EvolutionEntry {
  version: number;
  timestamp: string;
  changes: string[];
  trigger: string;
}

export interface StakingFixture {
  bgtStaked: number;
  stakedSince?: string;
}

export interface TbaFixture {
  nftContract: string;
  tokenId: string;
  ownerWallet: string;
  /** When set, verify-tba also requires this exact signature. */
  signature?: string;
}

/** Another answer to GET /health (a Finn build or proxy that answers differently). */
export interface HealthAnswer {
  status: number;
  /** Sent verbatim; may be empty or not JSON. */
  body: string;
}

export interface Fixtures {
  /** null: Finn's own /health body. */
  healthAnswer: HealthAnswer | null;
  /** The id the next created session gets (then random again); null: a random UUID. */
  nextSessionId: string | null;
  knowledge: KnowledgeMetadata;
  oracle: OracleIdentity;
  /** Keyed by lower-cased wallet. */
  nfts: Map<string, NftFixture[]>;
  beauvoir: Map<string, Beauvoir>;
  evolution: Map<string, EvolutionEntry[]>;
  /** Keyed by lower-cased wallet. */
  staking: Map<string, StakingFixture>;
  /** Keyed by lower-cased TBA address. */
  tba: Map<string, TbaFixture>;
}

export interface CronRegistration {
  cronId: string;
  scheduleId: string;
  nftId: string;
  cron: string;
  callbackUrl: string;
  prompt: string;
  registeredAt: string;
  deleted: boolean;
}

export interface CronFiring {
  cronId: string;
  scheduleId: string;
  callbackUrl: string;
  timestamp: string;
  signature: string;
  messageId: string | null;
  status: number | null;
  body: unknown;
  error?: string;
}

export interface RequestLogEntry {
  at: number;
  method: string;
  path: string;
  query: string;
  /** Endpoint name (see routes.ts), `ws` for upgrades, `unknown` otherwise. */
  route: string;
  ip: string;
  headers: IncomingHttpHeaders;
  status: number | null;
  /** Which fault, if any, shaped the answer. */
  fault: string | null;
}

export interface WsConnectionLog {
  id: number;
  sessionId: string;
  url: string;
  ip: string;
  headers: IncomingHttpHeaders;
  openedAt: number;
  closedAt: number | null;
  closeCode: number | null;
  closeReason: string;
  /** Parsed client frames (raw strings when not JSON). */
  received: unknown[];
  sent: FinnFrame[];
}

export interface SessionMessage {
  role: 'user' | 'assistant' | 'steer';
  content: string;
}

export interface SimSession {
  id: string;
  created: number;
  lastActivity: number;
  isStreaming: boolean;
  messages: SessionMessage[];
  tokenId: string | null;
}
