// A control plane with flighting, run as a child process by the crash test (which SIGKILLs it).
import { startServer } from '../../src/index.ts';

const config = JSON.parse(process.env.RINGMASTER_TEST_CONFIG ?? '{}') as {
  dataDir: string; port: number; fleetRepo: string; remote: string; workDir: string; kubeconfig: string; timeScale: number; pollIntervalMs: number;
};
const server = await startServer({
  dataDir: config.dataDir, port: config.port, host: '127.0.0.1', logLevel: 'warn',
  flighting: {
    fleetRepo: config.fleetRepo, manifestRepo: { url: config.remote, argocdURL: `file://${config.remote}` }, workDir: config.workDir,
    access: { kubeconfig: config.kubeconfig, management: { context: 'management' } }, timeScale: config.timeScale, pollIntervalMs: config.pollIntervalMs,
  },
});
process.stdout.write(`listening ${server.url}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
