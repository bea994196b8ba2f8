/** A message the projection may read: plaintext only (sealed and erased ones never reach it). */
export interface ProjectionMessage {
  conversationId: string;
  role: 'user' | 'assistant';
  text: string;
  createdAt: string;
}

export interface ProjectionInput {
  conversationCount: number;
  sealedConversationCount: number;
  lastInteraction: string | null;
  /** The NFT's last messages (at most RECENT_MESSAGES), oldest first. */
  messages: ProjectionMessage[];
}

export interface MemoryProjection {
  conversationCount: number;
  sealedConversationCount: number;
  lastInteraction: string | null;
  recentTopics: string[];
  unresolvedQuestions: string[];
  activeSummary: string | null;
}

export const RECENT_MESSAGES = 50;
const TOPICS = 5;
const QUESTIONS = 5;

const STOP_WORDS = new Set(
  (
    'a about above after again against all also am an and any are as at be because been before being below between both but by can ' +
    'could did do does doing down during each few for from further had has have having he her here hers him his how i if in into ' +
    'is it its itself just me more most my myself no nor not now of off on once only or other our ours out over own same she should so ' +
    'some such than that the their theirs them then there these they this those through to too under until up very was we were what ' +
    'when where which while who whom why will with would you your yours yourself please tell know like want get got let make thing ' +
    'things one two yes okay ok hello hi hey thanks thank'
  ).split(' '),
);

export function keywords(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}'-]*/gu) ?? [])
    .map((w) => w.replace(/['-]+$/, ''))
    .filter((w) => w.length >= 3 && !STOP_WORDS.has(w) && !/^\d+$/.test(w));
}

export function topKeywords(messages: readonly ProjectionMessage[], n = TOPICS): string[] {
  const counts = new Map<string, { count: number; last: number }>();
  messages.forEach((m, i) => {
    for (const w of keywords(m.text)) counts.set(w, { count: (counts.get(w)?.count ?? 0) + 1, last: i });
  });
  return [...counts.entries()]
    .sort(([a, x], [b, y]) => y.count - x.count || y.last - x.last || a.localeCompare(b))
    .slice(0, n)
    .map(([w]) => w);
}

const isQuestion = (text: string) => /\?\s*$/.test(text.trim());

/** User questions with no assistant message after them in the same conversation, newest first. */
export function unresolvedQuestions(messages: readonly ProjectionMessage[], n = QUESTIONS): string[] {
  const answered = new Set<string>();
  const out: string[] = [];
  for (let i = messages.length - 1; i >= 0 && out.length < n; i--) {
    const m = messages[i]!;
    if (m.role === 'assistant') answered.add(m.conversationId);
    else if (!answered.has(m.conversationId) && isQuestion(m.text)) out.push(m.text.trim());
  }
  return out;
}

const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

export function computeProjection(input: ProjectionInput): MemoryProjection {
  const messages = input.messages.slice(-RECENT_MESSAGES);
  const recentTopics = topKeywords(messages);
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const parts: string[] = [];
  if (recentTopics.length) parts.push(`Recently discussed: ${recentTopics.join(', ')}.`);
  if (lastUser) parts.push(`Last asked: "${clip(lastUser.text.trim(), 120)}"`);
  return {
    conversationCount: input.conversationCount,
    sealedConversationCount: input.sealedConversationCount,
    lastInteraction: input.lastInteraction,
    recentTopics,
    unresolvedQuestions: unresolvedQuestions(messages),
    activeSummary: parts.length ? parts.join(' ') : null,
  };
}
