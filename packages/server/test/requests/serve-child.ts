// A control plane with flighting and the requests API, run as a child process by the requests test
// (which SIGKILLs it in the middle of a request). DNS and the ticketing webhook come from the
// environment, as `ringmaster serve` takes them.
import { createDnsProvider, dnsConfigFromEnv, startServer, ticketClientFromEnv } from '../../src/index.ts';

const config = JSON.parse(process.env.RINGMASTER_TEST_CONFIG ?? '{}') as {
  dataDir: string; port: number; fleetRepo: string; remote: string; workDir: string; kubeconfig: string; timeScale: number; pollIntervalMs: number;
};
const dns = dnsConfigFromEnv(process.env);
const server = await startServer({
  dataDir: config.dataDir, port: config.port, host: '127.0.0.1', logLevel: 'warn',
  settings: { fleetRepository: 'acme/fleet' },
  flighting: {
    fleetRepo: config.fleetRepo, manifestRepo: { url: config.remote }, workDir: config.workDir,
    access: { kubeconfig: config.kubeconfig, management: { context: 'management' } }, timeScale: config.timeScale, pollIntervalMs: config.pollIntervalMs,
  },
  drift: { enabled: false },
  requests: {
    dns: dns ? createDnsProvider(dns) : null, tickets: ticketClientFromEnv(process.env), ticketWebhookSecret: process.env.RINGMASTER_TICKET_WEBHOOK_SECRET,
    pollIntervalMs: 200, stepTimeoutMs: 240_000,
  },
});
process.stdout.write(`listening ${server.url}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
