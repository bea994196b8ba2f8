import type { Access } from './datasources/access.js';
import type { Datasources } from './datasources/index.js';
import type { FinnCallContext } from './datasources/finn/index.js';
import type { MemoryRequest } from './datasources/memory.js';
import type { Logger } from './logger.js';
import type { Viewer } from './domain/viewer.js';

/** What the HTTP or WebSocket layer knows about a request before GraphQL runs. */
export interface ServerContext {
  requestId: string;
  clientIp: string;
}

/** Per-request context: never cached across requests (it holds the viewer and its memoised access). */
export interface Context extends ServerContext {
  logger: Logger;
  viewer: Viewer;
  access: Access;
  ds: Datasources;
  /** Forwarded on every Finn call made for this request. */
  finnCtx: FinnCallContext;
  /** Soul-memory access answers and the projection DataLoader of this request. */
  memory: MemoryRequest;
}
