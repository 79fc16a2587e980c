// The signature both directions of the ticket webhook use: Ringmaster signs what it sends to the
// ticketing system, and verifies what the ticketing system sends back (the route is the server's).
import { createHmac } from 'node:crypto';
import { UnauthenticatedError } from '../errors.ts';
import { header, safeEqual, type Headers } from '../webhooks/receiver.ts';

/** How far a signed timestamp may be from now: older deliveries are treated as replays. */
export const TICKET_WEBHOOK_TOLERANCE_S = 300;

const TIMESTAMP = 'x-ringmaster-timestamp';
const SIGNATURE = 'x-ringmaster-signature';

function signature(secret: string, timestamp: string, body: string | Buffer): string {
  // the timestamp is inside the MAC, so a captured body cannot be replayed under a fresh timestamp
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.`).update(typeof body === 'string' ? Buffer.from(body) : body).digest('hex');
}

/** Headers a ticketing system sends: x-ringmaster-timestamp (unix seconds) and x-ringmaster-signature = 'sha256=' + hex HMAC-SHA256(secret, `${timestamp}.${rawBody}`). */
export function signTicketWebhook(secret: string, body: string | Buffer, nowMs: number): { 'x-ringmaster-timestamp': string; 'x-ringmaster-signature': string } {
  const timestamp = String(Math.floor(nowMs / 1000));
  return { [TIMESTAMP]: timestamp, [SIGNATURE]: signature(secret, timestamp, body) } as { 'x-ringmaster-timestamp': string; 'x-ringmaster-signature': string };
}

/**
 * Throws UnauthenticatedError with the precise reason: a header missing, a timestamp that is not
 * unix seconds, a signature not matching the body, or a timestamp more than 300 s from now.
 */
export function verifyTicketWebhook(secret: string, headers: Headers, rawBody: Buffer, nowMs: number): void {
  // an empty secret would make every signature computable by anyone
  if (!secret) throw new UnauthenticatedError('no ticket webhook secret is configured, so no delivery can be verified');
  const timestamp = header(headers, TIMESTAMP);
  const sig = header(headers, SIGNATURE);
  if (!timestamp) throw new UnauthenticatedError(`${TIMESTAMP} header is missing`);
  if (!sig) throw new UnauthenticatedError(`${SIGNATURE} header is missing`);
  if (!/^\d{1,12}$/.test(timestamp)) throw new UnauthenticatedError(`${TIMESTAMP} must be unix seconds (digits only)`);
  if (!safeEqual(sig, signature(secret, timestamp, rawBody))) throw new UnauthenticatedError(`${SIGNATURE} does not match the timestamp and body`);
  const skew = Math.round(Math.abs(nowMs / 1000 - Number(timestamp)));
  if (skew > TICKET_WEBHOOK_TOLERANCE_S) {
    throw new UnauthenticatedError(`${TIMESTAMP} is ${skew} s from now, more than ${TICKET_WEBHOOK_TOLERANCE_S} s: a replayed delivery or a wrong clock`);
  }
}
