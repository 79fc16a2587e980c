import { benchServer } from '/work/main/bench/server.ts';
process.stdout.write(await benchServer() + '\n');
