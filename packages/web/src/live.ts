import { useEffect, useState } from 'react';
import { getToken } from './api.ts';
import { reconnected, type LiveUpdate } from './keys.ts';
import { applyLiveUpdate } from './query.ts';

export type { LiveUpdate } from './keys.ts';
export type LiveStatus = 'connecting' | 'live' | 'offline';

/** The `update` events in a chunk of a server-sent event stream; what is left is an unfinished event. */
export function parseEvents(buf: string): { updates: LiveUpdate[]; rest: string } {
  const updates: LiveUpdate[] = [];
  let end: number;
  while ((end = buf.indexOf('\n\n')) !== -1) {
    const block = buf.slice(0, end);
    buf = buf.slice(end + 2);
    let event = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
    }
    if (event === 'update' && data) updates.push(JSON.parse(data) as LiveUpdate);
  }
  return { updates, rest: buf };
}

/**
 * Follows GET /api/v1/stream (server-sent events) and turns each update into the invalidation of
 * the queries it touches (keys.ts). Read with fetch rather than EventSource so the bearer token goes
 * in a header; reconnects after a pause when the stream drops, and then has every view look again.
 */
export function useLive(enabled: boolean): { status: LiveStatus; offlineSince: string | null } {
  const [status, setStatus] = useState<LiveStatus>('connecting');
  // when the stream was last lost; kept through reconnection attempts until it is live again
  const [offlineSince, setOfflineSince] = useState<string | null>(null);
  useEffect(() => {
    if (!enabled) return;
    const abort = new AbortController();
    let retry: ReturnType<typeof setTimeout> | undefined;
    let connections = 0;
    const connect = async () => {
      setStatus('connecting');
      try {
        const res = await fetch('/api/v1/stream', {
          headers: { accept: 'text/event-stream', authorization: `Bearer ${getToken() ?? ''}` },
          signal: abort.signal,
        });
        if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
        setStatus('live');
        setOfflineSince(null);
        // events recorded while the stream was down were not announced: have every view look again
        if (++connections > 1) applyLiveUpdate(reconnected(new Date().toISOString()));
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const { updates, rest } = parseEvents(buf + value);
          buf = rest;
          for (const u of updates) applyLiveUpdate(u);
        }
      } catch {
        if (abort.signal.aborted) return;
      }
      if (abort.signal.aborted) return;
      setStatus('offline');
      setOfflineSince((s) => s ?? new Date().toISOString());
      retry = setTimeout(() => void connect(), 2000);
    };
    void connect();
    return () => {
      abort.abort();
      if (retry) clearTimeout(retry);
    };
  }, [enabled]);
  return { status, offlineSince };
}
