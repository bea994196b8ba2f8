/**
 * The `event` values operations alert on (docs/runbook.md, "Log events to alert on"). They are a
 * contract with the CloudWatch filters: rename one only together with the runbook and the alarms.
 */
export const LogEvent = {
  circuitBreakerTransition: 'circuit_breaker_transition',
  migrationFailed: 'migration_failed',
  dependencyUnreachable: 'dependency_unreachable',
  dependencyRecovered: 'dependency_recovered',
  callbackRejected: 'callback_rejected',
  memoryAppendFailed: 'memory_append_failed',
  natsMessageAbandoned: 'nats_message_abandoned',
  natsJetstreamUnavailable: 'nats_jetstream_unavailable',
  cacheValueInvalid: 'cache_value_invalid',
  scheduleOrphanCron: 'schedule_orphan_cron',
  shutdownStarted: 'shutdown_started',
  shutdownFinished: 'shutdown_finished',
} as const;

export type LogEventName = (typeof LogEvent)[keyof typeof LogEvent];

export const ALERT_LOG_EVENTS: readonly LogEventName[] = Object.values(LogEvent);
