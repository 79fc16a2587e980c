import type { FastifyRequest } from 'fastify';

/** Header paths never written to a log: credentials and webhook secrets (pino `redact` syntax). */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["x-hub-signature-256"]', 'req.headers["x-gitlab-token"]',
  'req.headers["x-ringmaster-secret"]', 'res.headers["set-cookie"]',
];

/**
 * A URL as the log may show it: every query value is replaced by `***`. Callers put credentials in
 * the query by mistake (`?token=…`, a signed link); no parameter name is trusted to be harmless.
 */
export function redactQuery(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url.slice(q + 1).split('&').map((p) => {
    const eq = p.indexOf('=');
    return eq < 0 ? p : `${p.slice(0, eq)}=***`;
  });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

/** The request fields a log line carries: no headers at all, the URL without query values. */
export function requestForLog(req: FastifyRequest): Record<string, unknown> {
  return { method: req.method, url: redactQuery(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort };
}
