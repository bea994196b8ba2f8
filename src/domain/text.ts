/** An unpaired UTF-16 surrogate: not valid Unicode, and PostgreSQL rejects it in text and jsonb. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const LONE_SURROGATES = new RegExp(LONE_SURROGATE.source, 'g');

/** PostgreSQL's text and jsonb hold neither U+0000 nor unpaired surrogates. */
export function isStorableText(s: string): boolean {
  return !s.includes('\u0000') && !LONE_SURROGATE.test(s);
}

/** `s` with what PostgreSQL cannot store replaced by U+FFFD, for text Dixie did not choose (Finn's output). */
export function storableText(s: string): string {
  return isStorableText(s) ? s : s.replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATES, '\uFFFD');
}
