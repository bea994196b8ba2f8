import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const SALT = Buffer.from('dixie-memory-seal-v1', 'utf8');
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Seals and opens event payloads of one conversation (domain.md: AES-256-GCM, HKDF-SHA256 key). */
export interface ConversationCipher {
  seal(payload: unknown): Buffer;
  /** Throws when the data was sealed under another key or was tampered with (GCM tag check). */
  open(sealed: Uint8Array): unknown;
}

/** The per-conversation key: HKDF-SHA256(master key, fixed salt, info = conversation id). */
export function conversationKey(masterKey: string, conversationId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(masterKey, 'utf8'), SALT, Buffer.from(`conversation:${conversationId}`, 'utf8'), 32));
}

export function conversationCipher(masterKey: string, conversationId: string): ConversationCipher {
  const key = conversationKey(masterKey, conversationId);
  return {
    seal(payload) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const ct = Buffer.concat([cipher.update(JSON.stringify(payload ?? null), 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), ct]);
    },
    open(sealed) {
      const buf = Buffer.from(sealed);
      if (buf.length < IV_BYTES + TAG_BYTES) throw new Error('sealed payload too short');
      const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(0, IV_BYTES));
      decipher.setAuthTag(buf.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      const pt = Buffer.concat([decipher.update(buf.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
      return JSON.parse(pt.toString('utf8')) as unknown;
    },
  };
}
