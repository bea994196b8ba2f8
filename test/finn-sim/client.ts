import WebSocket from 'ws';
import type { FinnFrame } from './types.js';

/** A tiny Finn WebSocket client for tests: records frames and the close. */
export interface FinnSocket {
  ws: WebSocket;
  frames: FinnFrame[];
  /** Resolves on open; rejects with the HTTP status when the upgrade is refused. */
  opened: Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
  send(message: unknown): void;
  /** Resolves with all frames so far once a frame of `type` arrives. */
  until(type: string, timeoutMs?: number): Promise<FinnFrame[]>;
  close(): Promise<void>;
}

export class UpgradeRejected extends Error {
  constructor(readonly status: number, readonly body: string) {
    super(`upgrade rejected with ${status}`);
  }
}

export function openFinnSocket(url: string, headers: Record<string, string> = {}): FinnSocket {
  const ws = new WebSocket(url, { headers });
  const frames: FinnFrame[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data) => {
    frames.push(JSON.parse(String(data)) as FinnFrame);
    waiters.forEach((wake) => wake());
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => { body += chunk.toString('utf8'); });
      res.on('end', () => {
        reject(new UpgradeRejected(res.statusCode ?? 0, body));
        ws.terminate();
      });
    });
    ws.once('error', reject);
    ws.on('error', () => undefined);
  });
  opened.catch(() => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') }));
  });
  const until = (type: string, timeoutMs = 2000): Promise<FinnFrame[]> => new Promise((resolve, reject) => {
    const check = (): void => {
      if (!frames.some((frame) => frame.type === type)) return;
      cleanup();
      resolve([...frames]);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no ${type} frame within ${timeoutMs} ms; got ${frames.map((f) => f.type).join(',')}`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      waiters.delete(check);
    };
    waiters.add(check);
    check();
  });
  return {
    ws, frames, opened, closed, until,
    send: (message) => ws.send(typeof message === 'string' ? message : JSON.stringify(message)),
    close: async () => {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await closed;
    },
  };
}
