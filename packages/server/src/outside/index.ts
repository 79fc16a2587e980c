// The parts of the requests API that reach outside Kubernetes: DNS records and ticketing webhooks.
export { createDnsProvider, dnsConfigFromEnv, DnsError, type DnsConfig, type DnsProvider, type DnsRecord, type DnsRecordType } from './dns.ts';
export { startLocalBind, type LocalBind } from './local-bind.ts';
export { createTicketClient, ticketClientFromEnv, TicketError, type TicketAction, type TicketCall, type TicketClient, type TicketClientOptions, type TicketResult } from './ticket.ts';
export { signTicketWebhook, verifyTicketWebhook, TICKET_WEBHOOK_TOLERANCE_S } from './ticket-webhook.ts';
