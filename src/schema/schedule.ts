import type { CreateScheduleResult, ExecutionPage, Schedule, ScheduleExecution } from '../datasources/schedules.js';
import { SCHEDULE_STATUSES } from '../domain/schedule-state.js';
import { builder } from './builder.js';

export const ScheduleStatusEnum = builder.enumType('ScheduleStatus', { values: SCHEDULE_STATUSES });
export const ScheduleExecutionStatus = builder.enumType('ScheduleExecutionStatus', {
  values: ['SUCCESS', 'FAILED', 'SKIPPED'] as const,
});
export const ScheduleFiredBy = builder.enumType('ScheduleFiredBy', {
  description: 'FINN when Finn holds the cron (B7) and calls back; DIXIE when Dixie’s scheduler fires it.',
  values: ['FINN', 'DIXIE'] as const,
});

export const ScheduleExecutionRef = builder.objectRef<ScheduleExecution>('ScheduleExecution').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    scheduleId: t.exposeID('scheduleId'),
    nftId: t.exposeID('nftId'),
    firedAt: t.field({ type: 'DateTime', resolve: (e) => e.firedAt }),
    status: t.field({
      type: ScheduleExecutionStatus,
      // RUNNING is internal (a firing in progress); it is never published or listed.
      resolve: (e) => (e.status === 'RUNNING' ? 'SKIPPED' : e.status),
    }),
    firedBy: t.field({ type: ScheduleFiredBy, resolve: (e) => (e.source === 'finn' ? 'FINN' : 'DIXIE') }),
    messageId: t.string({ nullable: true, resolve: (e) => e.messageId }),
    error: t.string({ nullable: true, resolve: (e) => e.error }),
  }),
});

const ScheduleExecutionPage = builder.objectRef<ExecutionPage>('ScheduleExecutionPage').implement({
  description: 'Executions, newest first.',
  fields: (t) => ({
    nodes: t.field({ type: [ScheduleExecutionRef], resolve: (p) => p.nodes }),
    endCursor: t.string({ nullable: true, resolve: (p) => p.endCursor }),
    hasNextPage: t.exposeBoolean('hasNextPage'),
  }),
});

export const ScheduleRef = builder.objectRef<Schedule>('Schedule').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    nftId: t.exposeID('nftId'),
    name: t.string({ nullable: true, resolve: (s) => s.name }),
    expression: t.exposeString('expression'),
    cron: t.exposeString('cron', { description: '5-field cron, UTC' }),
    humanReadable: t.exposeString('humanReadable'),
    prompt: t.exposeString('prompt'),
    status: t.field({ type: ScheduleStatusEnum, resolve: (s) => s.status }),
    firedBy: t.field({ type: ScheduleFiredBy, nullable: true, resolve: (s) => (s.firedBy ? (s.firedBy === 'finn' ? 'FINN' : 'DIXIE') : null) }),
    maxFires: t.int({ nullable: true, resolve: (s) => s.maxFires }),
    fireCount: t.exposeInt('fireCount'),
    nextFireAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.nextFireAt }),
    lastFiredAt: t.field({ type: 'DateTime', nullable: true, resolve: (s) => s.lastFiredAt }),
    createdAt: t.field({ type: 'DateTime', resolve: (s) => s.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (s) => s.updatedAt }),
    executions: t.field({
      type: ScheduleExecutionPage,
      args: {
        first: t.arg.int({ required: false, description: 'Default 20, at most 100 (clamped)' }),
        after: t.arg.string({ required: false }),
      },
      resolve: (s, args, ctx) => ctx.ds.schedules.executions(s.id, args.first ?? 20, args.after ?? null),
    }),
  }),
});

const ParsedSchedule = builder.objectRef<CreateScheduleResult['parsed']>('ParsedSchedule').implement({
  fields: (t) => ({
    cron: t.exposeString('cron'),
    humanReadable: t.exposeString('humanReadable'),
    nextFireAt: t.field({ type: 'DateTime', nullable: true, resolve: (p) => p.nextFireAt }),
  }),
});

export const CreateSchedulePayload = builder.objectRef<CreateScheduleResult>('CreateSchedulePayload').implement({
  fields: (t) => ({
    parsed: t.field({ type: ParsedSchedule, resolve: (r) => r.parsed }),
    schedule: t.field({ type: ScheduleRef, resolve: (r) => r.schedule }),
    needsConfirmation: t.exposeBoolean('needsConfirmation', {
      description: 'True for a raw cron expression or a schedule firing more often than every 15 minutes: show it to the user.',
    }),
  }),
});

export const CreateScheduleInput = builder.inputType('CreateScheduleInput', {
  fields: (t) => ({
    nftId: t.id({ required: true }),
    expression: t.string({ required: true, description: 'A phrase such as "every morning" or a 5-field cron (UTC)' }),
    prompt: t.string({ required: true }),
    name: t.string({ required: false }),
    maxFires: t.int({ required: false, description: 'The schedule completes after this many firings' }),
  }),
});
