// A real Prometheus (Debian's package, scripts/setup.d/38-prometheus.sh) on loopback, scraping an
// exporter of its caller's own every second: the caller (a test, the demo) sets the exporter's
// values, Prometheus sees them. For metric gates where no application exports metrics.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** An HTTP exporter on loopback serving /metrics in Prometheus's text format, with values the test sets. */
export class TestExporter {
  private readonly series = new Map<string, { name: string; labels: Record<string, string>; value: number }>();
  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(): Promise<TestExporter> {
    const holder: { exporter?: TestExporter } = {};
    const server = createServer((req, res) => {
      if (req.url !== '/metrics' || !holder.exporter) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(holder.exporter.text());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holder.exporter = new TestExporter(server, (server.address() as AddressInfo).port);
    return holder.exporter;
  }

  /** Sets a gauge's value for these labels (a new series the first time). */
  set(name: string, labels: Record<string, string>, value: number): void {
    this.series.set(`${name}${JSON.stringify(Object.entries(labels).sort())}`, { name, labels, value });
  }

  private text(): string {
    const names = [...new Set([...this.series.values()].map((s) => s.name))];
    return names.map((n) => [`# TYPE ${n} gauge`, ...[...this.series.values()].filter((s) => s.name === n).map((s) => {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join(',');
      return `${n}${labels ? `{${labels}}` : ''} ${s.value}`;
    })].join('\n')).join('\n') + '\n';
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

async function freeLoopbackPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

export interface TestPrometheus {
  url: string;
  exporter: TestExporter;
  /** The value an instant query answers now (first sample), or null. */
  query(q: string): Promise<number | null>;
  stop(): Promise<void>;
}

/** Starts `prometheus` on 127.0.0.1:<free port> with its own config and data folder, scraping a new TestExporter every second. */
export async function startPrometheus(options: { dir?: string } = {}): Promise<TestPrometheus> {
  const exporter = await TestExporter.start();
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'ringmaster-prometheus-'));
  mkdirSync(dir, { recursive: true });
  let child: ChildProcess | undefined;
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child!.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await exporter.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const port = await freeLoopbackPort();
    writeFileSync(join(dir, 'prometheus.yml'), [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: test',
      `    static_configs: [{ targets: ["127.0.0.1:${exporter.port}"] }]`, '',
    ].join('\n'));
    const log: string[] = [];
    child = spawn('prometheus', [
      `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h', '--log.level=warn',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    for (const s of [child.stdout!, child.stderr!]) s.on('data', (b: Buffer) => log.push(b.toString()));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}: ${log.join('').slice(-2000)}`);
      const ready = await fetch(`${url}/-/ready`).then((r) => r.ok, () => false);
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`prometheus not ready within 60 s: ${log.join('').slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const query = async (q: string): Promise<number | null> => {
      const body = await (await fetch(`${url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: q }) })).json() as { data?: { result?: Array<{ value: [number, string] }> } };
      const v = body.data?.result?.[0]?.value[1];
      return v === undefined ? null : Number(v);
    };
    return { url, exporter, query, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
