// The request schemas of the HTTP API live in the contract (@ringmaster/api); the handlers read them from there.
export { appBody, appName, auditQuery, changesQuery, contactsQuery, doraQuery, fleetQuery, fleetSummaryQuery, settingsBody, tokenBody } from '@ringmaster/api';
