import { assertSessionId } from '../datasources/finn/ids.js';
import { builder } from '../schema/builder.js';
import { ChatEventUnion, ChatReply, ChatSession, chatSessionView } from '../schema/chat.js';
import type { ChatEvent } from '../domain/chat-events.js';
import { assertPrompt, poolForViewer, viewerWallet } from './chat-input.js';

const MAX_SESSIONS = 100;

builder.queryField('chatSessions', (t) =>
  t.field({
    type: [ChatSession],
    description: "The viewer's own chat sessions, newest first.",
    authScopes: { wallet: true },
    args: { first: t.arg.int({ required: false, description: `At most ${MAX_SESSIONS} (clamped)` }) },
    resolve: async (_root, args, ctx) => {
      const first = Math.min(Math.max(args.first ?? 50, 0), MAX_SESSIONS);
      const records = await ctx.ds.chat.list(viewerWallet(ctx), first);
      return records.map((r) => chatSessionView(r, ctx));
    },
  }),
);

builder.queryField('chatSession', (t) =>
  t.field({
    type: ChatSession,
    nullable: true,
    description: 'Answers only the owner; NOT_FOUND for anyone else.',
    authScopes: { wallet: true },
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) => chatSessionView(await ctx.ds.chat.owned(viewerWallet(ctx), String(args.id)), ctx),
  }),
);

builder.mutationField('startChat', (t) =>
  t.field({
    type: ChatSession,
    description: 'Creates a Finn session (with the NFT personality when nftId is given) owned by the viewer.',
    authScopes: { wallet: true },
    args: { nftId: t.arg.id({ required: false }) },
    resolve: async (_root, args, ctx) => {
      const record = await ctx.ds.chat.start(viewerWallet(ctx), args.nftId == null ? null : String(args.nftId), ctx.finnCtx);
      return chatSessionView(record, ctx);
    },
  }),
);

builder.mutationField('sendMessage', (t) =>
  t.field({
    type: ChatReply,
    description: 'A synchronous turn: waits for the whole answer.',
    authScopes: { wallet: true },
    args: { sessionId: t.arg.id({ required: true }), text: t.arg.string({ required: true }) },
    resolve: async (_root, args, ctx) => {
      const sessionId = assertSessionId(String(args.sessionId));
      const text = assertPrompt(args.text);
      const wallet = viewerWallet(ctx);
      const session = await ctx.ds.chat.owned(wallet, sessionId);
      const reply = await ctx.ds.chat.send(session, wallet, text, ctx.finnCtx);
      return { text: reply.response, toolCalls: reply.toolCalls };
    },
  }),
);

builder.subscriptionField('chat', (t) =>
  t.field({
    type: ChatEventUnion,
    description: 'Sends `text` to the session and streams the answer; completes after ChatAgentEnd or ChatError.',
    authScopes: { wallet: true },
    args: { sessionId: t.arg.id({ required: true }), text: t.arg.string({ required: true }) },
    subscribe: async (_root, args, ctx) => {
      const sessionId = assertSessionId(String(args.sessionId));
      const text = assertPrompt(args.text);
      const wallet = viewerWallet(ctx);
      const session = await ctx.ds.chat.owned(wallet, sessionId);
      const { pool, reason } = await poolForViewer(ctx);
      return ctx.ds.chatStreams.subscribe({
        sessionId,
        text,
        wallet,
        nftId: session.nftId,
        pool,
        reason,
        requestId: ctx.requestId,
        clientIp: ctx.clientIp,
      });
    },
    resolve: (event: ChatEvent) => event,
  }),
);
