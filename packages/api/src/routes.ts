import { z } from 'zod';
import { errorBody, noContent, type Role } from './common.ts';
import { deliveryAnswer, deliveryBody, eventsAnswer, eventsBody, eventsBodyOf } from './events.ts';
import { changeDetail, changeEta, changeList, changesQuery, contactsAnswer, contactsQuery } from './changes.ts';
import { fleetPage, fleetQuery, fleetSummaryAnswer, fleetSummaryQuery } from './fleet.ts';
import { doraAnswer, doraBy, doraByQuery, doraQuery, doraSeries, doraSeriesQuery } from './dora.ts';
import { board, facets, fleetMatrix, fleetMatrixQuery, me } from './dashboard.ts';
import {
  appBody, appList, appName, appSet, auditList, auditQuery, createdToken, journeySettings, settingsBody, tokenBody, tokenList,
} from './admin.ts';
import { health, openApiSchema, ready, version } from './meta.ts';
import {
  approveReleaseBody, createReleaseBody, listReleasesQuery, releaseActionBody, releaseEvents, releaseList, releaseView,
} from './releases.ts';
import { endFreezeBody, freezeStatus, overrideReleaseBody, startFreezeBody } from './freeze.ts';
import { adoptAnswer, adoptBody, driftAnswer, driftName, driftQuery, healAnswer, healBody } from './drift.ts';
import {
  approvedOperation, approveOperationBody, createOperationBody, dns, instanceNodes, instanceQuery, operationAnswer, operationList, operationPreview,
} from './operations.ts';
import {
  cancelBody, createRequestBody, decisionBody, listRequestsQuery, logsQuery, requestId, requestList, requestLogs, requestView, ticketWebhookAnswer, ticketWebhookBody,
} from './requests.ts';
import { alertmanagerAnswer, alertmanagerPayload, notificationList, notificationsQuery } from './alerts.ts';

/** How a route's caller is known: a bearer token, nothing, or a signature over the body (webhooks). */
export type RouteAuth = 'token' | 'none' | 'signature';

/** One route of the HTTP API: what it takes, what it answers, and who may call it. */
export interface RouteDef {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** OpenAPI-style path under the server's root, e.g. /api/v1/changes/{id}. */
  path: string;
  summary: string;
  tag: string;
  auth: RouteAuth;
  /** The least role a token needs (its app/ring scope may be checked further by the handler). */
  role?: Role;
  params?: z.ZodObject;
  query?: z.ZodType;
  body?: z.ZodType;
  /** Where a body may take one of several shapes: the schema that reads this body. */
  bodyOf?: (body: unknown) => z.ZodType;
  /** Answers by status; a z.undefined() answer has no body. */
  responses: Partial<Record<200 | 201 | 202 | 204 | 503, z.ZodType>>;
  /** Answers that are not JSON (server-sent events, NDJSON, Prometheus text). */
  stream?: string;
}

const id = z.object({ id: z.string() });
const instance = z.object({ instance: driftName });
const opInstance = z.object({ instance: dns });
const opName = z.object({ instance: dns, name: dns });
const rqId = z.object({ id: requestId });
const V1 = '/api/v1';

const get = <A extends z.ZodType, M extends Partial<RouteDef> = object>(path: string, tag: string, summary: string, answer: A, more: M = {} as M) =>
  ({ method: 'GET' as const, path: `${V1}${path}`, tag, summary, auth: 'token' as const, role: 'viewer' as Role | undefined, responses: { 200: answer }, ...more });
const post = <B extends z.ZodType, S extends RouteDef['responses'], M extends Partial<RouteDef> = object>(
  path: string, tag: string, summary: string, role: Role, body: B, responses: S, more: M = {} as M,
) => ({ method: 'POST' as const, path: `${V1}${path}`, tag, summary, auth: 'token' as const, role, body, responses, ...more });

const releaseAction = <B extends z.ZodType>(action: string, role: Role, body: B, summary: string) =>
  post(`/releases/{id}/${action}`, 'releases', summary, role, body, { 200: releaseView }, { params: id });

/** Every route of the server's HTTP API, by a stable name (the typed client's methods). */
export const routes = {
  health: { method: 'GET', path: '/healthz', tag: 'operations', summary: 'the process runs', auth: 'none', responses: { 200: health } },
  ready: { method: 'GET', path: '/readyz', tag: 'operations', summary: 'the database answers (503 when it does not)', auth: 'none', responses: { 200: ready, 503: errorBody } },
  metrics: { method: 'GET', path: '/metrics', tag: 'operations', summary: 'Prometheus metrics', auth: 'none', responses: { 200: z.string() }, stream: 'text/plain' },
  version: { method: 'GET', path: `${V1}/version`, tag: 'operations', summary: "the server's version", auth: 'none', responses: { 200: version } },
  openapi: { method: 'GET', path: `${V1}/openapi.json`, tag: 'operations', summary: 'this OpenAPI document', auth: 'none', responses: { 200: openApiSchema } },

  postEvents: post('/events', 'events', 'record one journey event or a batch {"events": [...]} (201 when something was stored, 200 when all were duplicates)', 'deployer', eventsBody,
    { 200: eventsAnswer, 201: eventsAnswer }, { bodyOf: eventsBodyOf }),
  webhook: { method: 'POST', path: `${V1}/webhooks/{source}`, tag: 'events', summary: 'a GitHub, GitLab or Azure DevOps delivery, authenticated by its signature (202 stored, 200 duplicate)',
    auth: 'signature', params: z.object({ source: z.string() }), body: deliveryBody, responses: { 200: deliveryAnswer, 202: deliveryAnswer } },
  ticketWebhook: { method: 'POST', path: `${V1}/webhooks/ticket`, tag: 'requests', summary: 'the ticketing system approves or rejects the requests of a ticket (signed)',
    auth: 'signature', body: ticketWebhookBody, responses: { 200: ticketWebhookAnswer } },

  listChanges: get('/changes', 'journey', 'changes, newest first, keyset-paginated', changeList, { query: changesQuery }),
  getChange: get('/changes/{id}', 'journey', 'a change with its timeline and targets', changeDetail, { params: id }),
  getChangeEta: get('/changes/{id}/eta', 'journey', 'when a change should reach the rings it has not reached', changeEta, { params: id }),
  listFleet: get('/fleet', 'journey', 'the fleet now, one row per instance', fleetPage, { query: fleetQuery }),
  fleetSummary: get('/fleet/summary', 'journey', 'per ring and cluster: instances, synced, healthy, degraded', fleetSummaryAnswer, { query: fleetSummaryQuery }),
  contacts: get('/contacts', 'journey', 'who to call about what reached a ring in a window', contactsAnswer, { query: contactsQuery }),
  dora: get('/dora', 'journey', 'the four DORA measures over a window', doraAnswer, { query: doraQuery }),
  stream: get('/stream', 'journey', 'server-sent events: hello, then one "update" (LiveUpdate) per burst of recorded events', z.string(), { stream: 'text/event-stream' }),

  listApps: get('/apps', 'admin', 'apps with their teams, contacts and repositories', appList),
  putApp: { method: 'PUT', path: `${V1}/apps/{app}`, tag: 'admin', summary: "set an app's team, repositories and contacts", auth: 'token', role: 'admin',
    params: z.object({ app: appName }), body: appBody, responses: { 200: appSet } },
  getSettings: get('/settings', 'admin', 'journey settings: repositories, ring order', journeySettings),
  putSettings: { method: 'PUT', path: `${V1}/settings`, tag: 'admin', summary: 'change journey settings', auth: 'token', role: 'admin', body: settingsBody, responses: { 200: journeySettings } },
  createToken: post('/tokens', 'admin', 'create a token (shown once)', 'admin', tokenBody, { 201: createdToken }),
  listTokens: get('/tokens', 'admin', 'tokens (never their values)', tokenList, { role: 'admin' }),
  revokeToken: { method: 'DELETE', path: `${V1}/tokens/{id}`, tag: 'admin', summary: 'revoke a token', auth: 'token', role: 'admin', params: id, responses: { 204: noContent } },
  listAudit: get('/audit', 'admin', 'the audit trail, newest first', auditList, { role: 'admin', query: auditQuery }),

  me: get('/dashboard/me', 'dashboard', 'who the token is (any role)', me),
  board: get('/dashboard/changes', 'dashboard', 'the changes board: stages and ring cells per change', board, { query: changesQuery }),
  fleetMatrix: get('/dashboard/fleet', 'dashboard', 'the fleet matrix: clusters by apps', fleetMatrix, { query: fleetMatrixQuery }),
  facets: get('/dashboard/facets', 'dashboard', "values for the dashboard's filter pickers", facets),
  doraSeries: get('/dashboard/dora/series', 'dashboard', 'DORA over consecutive buckets of a window, and the whole window', doraSeries, { query: doraSeriesQuery }),
  doraBy: get('/dashboard/dora/by', 'dashboard', 'DORA side by side for every app (or team) that deployed in a window', doraBy, { query: doraByQuery }),

  createRelease: post('/releases', 'releases', 'start a release of a fleet revision', 'deployer', createReleaseBody, { 201: releaseView }),
  listReleases: get('/releases', 'releases', 'releases, newest first', releaseList, { query: listReleasesQuery }),
  getRelease: get('/releases/{id}', 'releases', 'a release with its rings, waves, cluster steps, gates and approvals', releaseView, { params: id }),
  releaseEvents: get('/releases/{id}/events', 'releases', "a release's journey events", releaseEvents, { params: id }),
  approveRelease: releaseAction('approve', 'approver', approveReleaseBody, 'approve the ring that waits (or the ring named)'),
  pauseRelease: { ...releaseAction('pause', 'deployer', noContent, 'pause a release'), body: undefined },
  resumeRelease: { ...releaseAction('resume', 'deployer', noContent, 'resume a paused release'), body: undefined },
  abortRelease: releaseAction('abort', 'deployer', releaseActionBody, 'abort a release (what was delivered stays)'),
  rollbackRelease: releaseAction('rollback', 'deployer', releaseActionBody, 'roll a release back'),
  overrideRelease: releaseAction('override', 'admin', overrideReleaseBody, "let one release pass its rings' deployment windows or the freeze (admin, with a reason)"),

  getFreeze: get('/freeze', 'releases', 'whether an organisation-wide freeze holds every release, and the latest freeze', freezeStatus),
  startFreeze: post('/freeze', 'releases', 'start a freeze: every release holds at its next boundary (reason required)', 'approver', startFreezeBody, { 201: freezeStatus }),
  endFreeze: post('/freeze/end', 'releases', 'end the freeze: held releases resume', 'approver', endFreezeBody, { 200: freezeStatus }),
  deleteFreeze: { method: 'DELETE', path: `${V1}/freeze`, tag: 'releases', summary: 'end the freeze (as POST /freeze/end)', auth: 'token', role: 'approver', responses: { 200: freezeStatus } },

  listDrift: get('/drift', 'drift', 'drifted instances with their objects and fields', driftAnswer, { query: driftQuery }),
  healDrift: post('/drift/{instance}/heal', 'drift', "put an instance's drifted objects back as delivered", 'deployer', healBody, { 200: healAnswer }, { params: instance }),
  adoptDrift: post('/drift/{instance}/adopt', 'drift', "keep an instance's live change: write it into the fleet repo", 'deployer', adoptBody, { 200: adoptAnswer }, { params: instance }),

  instanceNodes: get('/instances/{instance}/nodes', 'operations', "an instance's AppCluster: nodes, roles, cache, conditions", instanceNodes, { params: opInstance, query: instanceQuery }),
  listOperations: get('/instances/{instance}/operations', 'operations', "an instance's NodeOperations, newest first", operationList, { params: opInstance, query: instanceQuery }),
  getOperation: get('/instances/{instance}/operations/{name}', 'operations', 'a NodeOperation with its events', operationAnswer, { params: opName, query: instanceQuery }),
  createOperation: post('/instances/{instance}/operations', 'operations', 'create a NodeOperation (201), or preview it (dryRun: 200)', 'deployer', createOperationBody,
    { 200: operationPreview, 201: operationAnswer }, { params: opInstance }),
  approveOperation: post('/instances/{instance}/operations/{name}/approve', 'operations', 'approve a risky NodeOperation', 'approver', approveOperationBody,
    { 200: approvedOperation }, { params: opName }),

  createRequest: post('/requests', 'requests', 'declare a provision, operate or decommission request (201), or check and preview it (dryRun: 200)', 'deployer', createRequestBody,
    { 200: requestView, 201: requestView }),
  listRequests: get('/requests', 'requests', 'requests, newest first', requestList, { query: listRequestsQuery }),
  getRequest: get('/requests/{id}', 'requests', 'a request with its preflight, dry run, approval and steps', requestView, { params: rqId }),
  approveRequest: post('/requests/{id}/approve', 'requests', 'approve a request (a second person)', 'approver', decisionBody, { 200: requestView }, { params: rqId }),
  rejectRequest: post('/requests/{id}/reject', 'requests', 'reject a request', 'approver', decisionBody, { 200: requestView }, { params: rqId }),
  cancelRequest: post('/requests/{id}/cancel', 'requests', 'cancel a request that waits or runs', 'deployer', cancelBody, { 200: requestView }, { params: rqId }),
  alertmanagerWebhook: post('/webhooks/alertmanager', 'releases', "Alertmanager's webhook: a firing alert naming a cluster in flight fails its step or pauses the release (token)", 'deployer',
    alertmanagerPayload, { 200: alertmanagerAnswer }),
  listNotifications: get('/notifications', 'releases', 'notification deliveries (Slack, Teams, generic webhooks), newest first', notificationList, { query: notificationsQuery }),
  requestLogs: get('/requests/{id}/logs', 'requests', "a request's log lines (follow=true: NDJSON until it ends)", requestLogs, { params: rqId, query: logsQuery }),
} as const satisfies Record<string, RouteDef>;

export type Routes = typeof routes;
export type RouteName = keyof Routes;

/** The Fastify form of a route's path: /changes/{id} → /changes/:id. */
export const fastifyPath = (path: string): string => path.replace(/\{(\w+)\}/g, ':$1');
