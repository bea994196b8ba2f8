import type { Context } from '../context.js';
import { isStorableText } from '../domain/text.js';
import { modelPoolFor } from '../domain/tiers.js';
import { dixieError } from '../errors.js';

export const MAX_PROMPT_CHARS = 32_000;

export function assertPrompt(text: string, field = 'text'): string {
  if (text.trim() === '') throw dixieError('BAD_USER_INPUT', 'The message must not be empty', { field });
  if (text.length > MAX_PROMPT_CHARS) throw dixieError('BAD_USER_INPUT', `The message exceeds ${MAX_PROMPT_CHARS} characters`, { field });
  if (!isStorableText(text)) throw dixieError('BAD_USER_INPUT', 'The message contains a NUL character or an unpaired surrogate', { field });
  return text;
}

/** The signed-in wallet (the `wallet` scope has already admitted the viewer). */
export function viewerWallet(ctx: Context): string {
  if (ctx.viewer.kind !== 'wallet') throw dixieError('UNAUTHENTICATED', 'Authentication required');
  return ctx.viewer.wallet;
}

/**
 * The model pool announced in ChatModelSelection. Adapter over identity's conviction (issue #3):
 * the per-request memoised `access.conviction()`; OBSERVER when it cannot be resolved.
 */
export async function poolForViewer(ctx: Context): Promise<{ pool: string; reason: string }> {
  const conviction = await ctx.access.conviction().catch(() => null);
  const tier = conviction?.tier ?? 'OBSERVER';
  return { pool: conviction?.modelPool ?? modelPoolFor(tier), reason: `Conviction tier ${tier}` };
}
