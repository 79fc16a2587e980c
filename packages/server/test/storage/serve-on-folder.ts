// A control plane on a data folder, run as a child process by the data-folder lock test.
import { startServer } from '../../src/index.ts';

const server = await startServer({ dataDir: process.argv[2], port: 0, host: '127.0.0.1', logLevel: false });
process.stdout.write(`listening ${server.url}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
