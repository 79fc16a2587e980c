import { z } from 'zod';
import { isUnsafeKey, isoTime, limit, nullableTime } from './common.ts';

/** At most this many alerts in one Alertmanager delivery (its `max_alerts` is unbounded by default; 1,000 is plenty). */
export const MAX_ALERTS = 1000;

/** A label or annotation map: bounded, and no key that would reach an object's prototype (looked at before zod copies it, which drops `__proto__` silently). */
const labelMap = z.unknown().superRefine((m, ctx) => {
  if (!m || typeof m !== 'object' || Array.isArray(m)) return;
  const keys = Object.keys(m);
  if (keys.length > 100) ctx.addIssue({ code: 'custom', message: `has ${keys.length} keys; at most 100 are accepted` });
  for (const k of keys) if (isUnsafeKey(k)) ctx.addIssue({ code: 'custom', message: `the key "${k}" is not allowed (it would reach the prototype of every object)`, path: [k] });
}).pipe(z.record(z.string().min(1).max(200), z.string().max(4000)));

/** An RFC 3339 time as Alertmanager writes it (`0001-01-01T00:00:00Z` for "no end yet"). */
const amTime = z.string().max(64).refine((s) => !Number.isNaN(Date.parse(s)), 'must be an RFC 3339 time');

/** One alert of an Alertmanager webhook delivery. */
export const alertmanagerAlert = z.object({
  status: z.enum(['firing', 'resolved']),
  labels: labelMap.refine((m) => typeof m.alertname === 'string' && m.alertname.length > 0, { message: 'must have an alertname label', path: ['alertname'] }),
  annotations: labelMap.default({}),
  startsAt: amTime,
  endsAt: amTime,
  generatorURL: z.string().max(2000).optional(),
  fingerprint: z.string().min(1).max(64).regex(/^[0-9a-zA-Z]+$/, 'must be letters and digits (Alertmanager writes 16 hexadecimal digits)'),
});
export type AlertmanagerAlert = z.infer<typeof alertmanagerAlert>;

/** Body of POST /api/v1/webhooks/alertmanager: Alertmanager's webhook payload, version 4. */
export const alertmanagerPayload = z.object({
  version: z.literal('4', { message: 'must be "4" (the Alertmanager webhook payload version this server reads)' }),
  groupKey: z.string().max(4000).optional(),
  truncatedAlerts: z.number().int().nonnegative().optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().max(200).optional(),
  groupLabels: labelMap.optional(),
  commonLabels: labelMap.optional(),
  commonAnnotations: labelMap.optional(),
  externalURL: z.string().max(2000).optional(),
  alerts: z.array(alertmanagerAlert).max(MAX_ALERTS),
});
export type AlertmanagerPayload = z.infer<typeof alertmanagerPayload>;

/** What the receiver did with a delivery. */
export const alertmanagerAnswer = z.object({
  received: z.number().describe('alerts in the delivery'),
  matched: z.array(z.object({ release: z.string(), cluster: z.string(), alert: z.string(), status: z.enum(['firing', 'resolved']) }))
    .describe('alerts recorded against a release, by the cluster they name'),
});

/** An alert as a release shows it. */
export const releaseAlertView = z.object({
  fingerprint: z.string(),
  alert: z.string().describe('the alertname label'),
  summary: z.string().nullable().describe('the summary (else description) annotation'),
  cluster: z.string(),
  instance: z.string().nullable(),
  ring: z.string(),
  status: z.enum(['firing', 'resolved']),
  action: z.enum(['fail', 'pause', 'none']).nullable().describe('what the engine did: failed the cluster, paused the release, nothing (the cluster was not in flight); null: not looked at yet'),
  startsAt: isoTime,
  endsAt: nullableTime,
  receivedAt: isoTime,
});
export type ReleaseAlertView = z.infer<typeof releaseAlertView>;

/** The events a notification is sent on. */
export const NOTIFY_EVENTS = ['waiting_for_approval', 'halted', 'rolled_back', 'succeeded'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

/** One delivery of a notification to one webhook. */
export const notificationDelivery = z.object({
  id: z.number(),
  notification: z.string().describe('the name of the notification in the fleet'),
  format: z.enum(['slack', 'teams', 'generic']),
  event: z.enum(NOTIFY_EVENTS),
  release: z.string(),
  ring: z.string().nullable(),
  state: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number(),
  lastStatus: z.number().nullable().describe("the receiver's last HTTP status"),
  lastError: z.string().nullable(),
  createdAt: isoTime,
  deliveredAt: nullableTime,
});
export type NotificationDelivery = z.infer<typeof notificationDelivery>;

export const notificationsQuery = z.object({
  release: z.string().max(40).optional(),
  limit: limit(500, 100),
});
export const notificationList = z.object({ deliveries: z.array(notificationDelivery) });
