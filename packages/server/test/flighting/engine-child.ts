// An engine on a PostgreSQL database, run as a child process by the lease test (which pauses it with SIGSTOP).
import { createContext, FlightEngine, openStorage } from '../../src/index.ts';

const storage = await openStorage({ databaseUrl: process.argv[2] });
const line = (level: string) => (obj: object, msg?: string) => void process.stdout.write(JSON.stringify({ level, msg, ...obj }) + '\n');
const log = { info: line('info'), warn: line('warn'), error: line('error') };
const ctx = createContext(storage, { fleetRepo: '/nonexistent', manifestRepo: { url: '/nonexistent' }, workDir: process.argv[3]!, leaseMs: 1000, pollIntervalMs: 100 }, async () => undefined, log);
new FlightEngine(ctx).start();
