import { createContext, useContext, useEffect, useState } from 'react';
import { Outlet, useLocation } from 'react-router';
import { api, ApiError, getToken, setToken, type Me } from './api.ts';
import { linkProps, navigate } from './navigation.ts';
import { useLive, type LiveStatus } from './live.ts';
import { queryClient } from './query.ts';
import { Login } from './views/Login.tsx';
import { FreezeBanner } from './components/FreezeBanner.tsx';

export interface Session {
  me: Me;
  liveStatus: LiveStatus;
  /** Since when the live stream is lost (null while live): what is on screen may be out of date. */
  offlineSince: string | null;
}
const SessionContext = createContext<Session | null>(null);
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside the signed-in app');
  return s;
}

const NAV = [
  { path: '/changes', label: 'Changes' },
  { path: '/fleet', label: 'Fleet' },
  { path: '/releases', label: 'Releases' },
  { path: '/requests', label: 'Requests' },
  // /metrics is the server's Prometheus endpoint, so the DORA view lives at /dora
  { path: '/dora', label: 'Metrics' },
];

/** The signed-in shell around every view: the sign-in form until a token is known, then the views. */
export function App() {
  const { pathname: path } = useLocation();
  const [me, setMe] = useState<Me | null>(null);
  const [authError, setAuthError] = useState<string | null>(null);
  const [checked, setChecked] = useState(false);

  useEffect(() => {
    // A link like /changes#token=… signs in (the demo prints one): the fragment never reaches a
    // server or its logs, and it is removed from the address bar and history at once.
    const m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
    if (m) {
      setToken(decodeURIComponent(m[1]!));
      history.replaceState(history.state, '', window.location.pathname + window.location.search);
    }
    if (!getToken()) {
      setChecked(true);
      return;
    }
    api<Me>('/dashboard/me').then(
      (m) => {
        setMe(m);
        setChecked(true);
      },
      (err: unknown) => {
        if (err instanceof ApiError && err.status === 401) setToken(null);
        setAuthError(err instanceof Error ? err.message : String(err));
        setChecked(true);
      },
    );
  }, []);
  const { status, offlineSince } = useLive(me !== null);
  useEffect(() => {
    const onExpired = (e: Event) => {
      setToken(null);
      // what the old token could read is not for whoever signs in next
      queryClient.clear();
      setMe(null);
      setAuthError(`Signed out: ${String((e as CustomEvent).detail ?? 'the token is no longer valid')}`);
    };
    window.addEventListener('ringmaster:unauthenticated', onExpired);
    return () => window.removeEventListener('ringmaster:unauthenticated', onExpired);
  }, []);

  if (!checked) return <p className="loading" role="status">Loading…</p>;
  if (!me) {
    return <Login error={authError} onSignedIn={(m) => {
      setMe(m);
      setAuthError(null);
      if (path === '/' || path === '/login') navigate('/changes', { replace: true });
    }} />;
  }
  const signOut = () => {
    setToken(null);
    queryClient.clear();
    setMe(null);
  };
  return (
    <SessionContext.Provider value={{ me, liveStatus: status, offlineSince }}>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <a className="brand" {...linkProps('/changes')}>Ringmaster</a>
        <nav aria-label="Views">
          {NAV.map((n) => (
            <a key={n.path} {...linkProps(n.path)} aria-current={path.startsWith(n.path) ? 'page' : undefined}>{n.label}</a>
          ))}
        </nav>
        <span className={`live live-${status}`} role="status" aria-live="polite" data-testid="live-status">
          {status === 'live' ? '● live' : status === 'connecting' ? '○ connecting' : '○ offline, retrying'}
        </span>
        <span className="who">{me.name} <small>({me.role})</small></span>
        <button type="button" className="link" onClick={signOut}>Sign out</button>
      </header>
      <main id="main" tabIndex={-1}>
        <FreezeBanner />
        <Outlet />
      </main>
    </SessionContext.Provider>
  );
}
