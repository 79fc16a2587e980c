import { useEffect, useRef, useState } from 'react';
import type { LiveUpdate } from '@ringmaster/api';
import { getToken } from './api.ts';

export type { LiveUpdate };

export type LiveStatus = 'connecting' | 'live' | 'offline';

/**
 * Follows GET /api/v1/stream (server-sent events). Read with fetch rather than EventSource so the
 * bearer token goes in a header; reconnects after a pause when the stream drops.
 */
export function useLive(enabled: boolean): { update: LiveUpdate | null; status: LiveStatus; offlineSince: string | null } {
  const [update, setUpdate] = useState<LiveUpdate | null>(null);
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
        if (++connections > 1) setUpdate({ kinds: ['reconnected'], changes: [], clusters: [], releases: [], at: new Date().toISOString() });
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
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
            if (event === 'update' && data) setUpdate(JSON.parse(data) as LiveUpdate);
          }
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
  return { update, status, offlineSince };
}

/**
 * The last live update that concerns a view (or a reconnection, after which every view looks
 * again): a view reloads when this changes, and not for updates about other things.
 */
export function useRelevant(update: LiveUpdate | null, concerns: (u: LiveUpdate) => boolean): LiveUpdate | null {
  const last = useRef<LiveUpdate | null>(null);
  if (update && update !== last.current && (update.kinds.includes('reconnected') || concerns(update))) last.current = update;
  return last.current;
}
