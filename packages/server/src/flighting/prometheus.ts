/** Raised when Prometheus cannot be asked, or answers with an error. */
export class PrometheusError extends Error {
  constructor(message: string, readonly errorType?: string) {
    super(message);
  }
}

interface ApiAnswer {
  status: 'success' | 'error';
  data?: unknown;
  errorType?: string;
  error?: string;
}

/**
 * The Prometheus HTTP API, as far as metric gates need it: its own PromQL parser (format_query,
 * present since 2.38) and instant queries. Every call takes an AbortSignal.
 */
export class PrometheusClient {
  private readonly base: string;

  constructor(url: string) {
    this.base = url.replace(/\/+$/, '');
  }

  private async call(path: string, query: string, signal?: AbortSignal): Promise<ApiAnswer> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, { method: 'POST', body: new URLSearchParams({ query }), signal, headers: { accept: 'application/json' } });
    } catch (err) {
      throw new PrometheusError(`Prometheus at ${this.base} cannot be reached: ${(err as Error).message}`);
    }
    const text = await res.text();
    let body: ApiAnswer;
    try {
      body = JSON.parse(text) as ApiAnswer;
    } catch {
      throw new PrometheusError(`Prometheus at ${this.base} answered ${res.status} without JSON: ${text.slice(0, 200)}`);
    }
    if (body.status !== 'success') throw new PrometheusError(body.error ?? `Prometheus answered ${res.status}`, body.errorType);
    return body;
  }

  /** Prometheus's parser message for an invalid query, or null when it parses. Throws PrometheusError when Prometheus cannot answer. */
  async parseError(query: string, signal?: AbortSignal): Promise<string | null> {
    try {
      await this.call('/api/v1/format_query', query, signal);
      return null;
    } catch (err) {
      if (err instanceof PrometheusError && err.errorType === 'bad_data') return err.message.replace(/^invalid parameter "query": /, '');
      throw err;
    }
  }

  /** The one number an instant query answers: a scalar, or a vector of one sample; null for an empty vector. */
  async value(query: string, signal?: AbortSignal): Promise<number | null> {
    const data = (await this.call('/api/v1/query', query, signal)).data as { resultType: string; result: unknown };
    if (data.resultType === 'scalar') return Number((data.result as [number, string])[1]);
    if (data.resultType !== 'vector') throw new PrometheusError(`the query answered a ${data.resultType}; a metric gate needs a scalar or a vector of one sample`);
    const samples = data.result as Array<{ value: [number, string] }>;
    if (samples.length === 0) return null;
    if (samples.length > 1) throw new PrometheusError(`the query answered ${samples.length} series; a metric gate needs one (aggregate it, e.g. with sum())`);
    return Number(samples[0]!.value[1]);
  }
}
