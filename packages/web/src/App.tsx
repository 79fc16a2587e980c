import { createContext, useContext, useEffect, useState } from 'react';
import { api, ApiError, getToken, setToken, type Me } from './api.ts';
import { linkProps, navigate, useLocation } from './router.ts';
import { useLive, type LiveStatus, type LiveUpdate } from './live.ts';
import { Login } from './views/Login.tsx';
import { ChangesView } from './views/Changes.tsx';
import { ChangeDetailView } from './views/ChangeDetail.tsx';
import { FleetView } from './views/Fleet.tsx';
import { InstanceView } from './views/Instance.tsx';
import { ClusterView } from './views/Cluster.tsx';
import { ReleasesView, ReleaseView } from './views/Release.tsx';
import { MetricsView } from './views/Metrics.tsx';
import { RequestsView, RequestView } from './views/Requests.tsx';

export interface Session {
  me: Me;
  live: LiveUpdate | null;
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

export function App() {
  const { path } = useLocation();
  const [me, setMe] = useState<Me | null>(null);
  const [authError, setAuthError] = useState<string | null>(null);
  const [checked, setChecked] = useState(false);

  useEffect(() => {
    // A link like /changes#token=… signs in (the demo prints one): the fragment never reaches a
    // server or its logs, and it is removed from the address bar and history at once.
    const m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
    if (m) {
      setToken(decodeURIComponent(m[1]!));
      history.replaceState(null, '', window.location.pathname + window.location.search);
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
  const { update, status, offlineSince } = useLive(me !== null);
  useEffect(() => {
    const onExpired = (e: Event) => {
      setToken(null);
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
    setMe(null);
  };
  return (
    <SessionContext.Provider value={{ me, live: update, liveStatus: status, offlineSince }}>
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
        <Route path={path} />
      </main>
    </SessionContext.Provider>
  );
}

function Route({ path }: { path: string }) {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  useEffect(() => {
    if (parts.length === 0) navigate('/changes', { replace: true });
  });
  switch (parts[0]) {
    case undefined:
    case 'login':
    case 'changes':
      return parts[1] ? <ChangeDetailView id={parts[1]} /> : <ChangesView />;
    case 'fleet':
      if (parts[1] && parts[2]) return <InstanceView cluster={parts[1]} instance={parts[2]} />;
      return parts[1] ? <ClusterView cluster={parts[1]} /> : <FleetView />;
    case 'releases':
      return parts[1] ? <ReleaseView id={parts[1]} /> : <ReleasesView />;
    case 'requests':
      return parts[1] ? <RequestView id={parts[1]} /> : <RequestsView />;
    case 'dora':
      return <MetricsView />;
    default:
      return <section><h1>Not found</h1><p>No page at {path}. <a {...linkProps('/changes')}>Go to the changes</a>.</p></section>;
  }
}
