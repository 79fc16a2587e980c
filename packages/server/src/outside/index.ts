// The parts that reach outside Kubernetes: DNS records and ticketing webhooks for the requests API; a
// local Prometheus (with an exporter of the caller's own) for metric gates in tests and the demo.
export { createDnsProvider, dnsConfigFromEnv, DnsError, type DnsConfig, type DnsProvider, type DnsRecord, type DnsRecordType } from './dns.ts';
export { startLocalBind, type LocalBind } from './local-bind.ts';
export { startPrometheus, TestExporter, type TestPrometheus } from './local-prometheus.ts';
export { createTicketClient, ticketClientFromEnv, TicketError, type TicketAction, type TicketCall, type TicketClient, type TicketClientOptions, type TicketResult } from './ticket.ts';
export { signTicketWebhook, verifyTicketWebhook, TICKET_WEBHOOK_TOLERANCE_S } from './ticket-webhook.ts';
