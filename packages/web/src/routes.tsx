import { Navigate, useLocation, useParams, useRoutes, type RouteObject } from 'react-router';
import { App } from './App.tsx';
import { linkProps } from './navigation.ts';
import { ChangesView } from './views/Changes.tsx';
import { ChangeDetailView } from './views/ChangeDetail.tsx';
import { FleetView } from './views/Fleet.tsx';
import { InstanceView } from './views/Instance.tsx';
import { ClusterView } from './views/Cluster.tsx';
import { ReleasesView, ReleaseView } from './views/Release.tsx';
import { MetricsView } from './views/Metrics.tsx';
import { RequestsView, RequestView } from './views/Requests.tsx';

/** A path parameter of the matched route (present: the route's pattern names it). */
function useParam(name: string): string {
  return useParams()[name] ?? '';
}

const ChangeDetailRoute = () => <ChangeDetailView id={useParam('id')} />;
const ClusterRoute = () => <ClusterView cluster={useParam('cluster')} />;
const InstanceRoute = () => <InstanceView cluster={useParam('cluster')} instance={useParam('instance')} />;
const ReleaseRoute = () => <ReleaseView id={useParam('id')} />;
const RequestRoute = () => <RequestView id={useParam('id')} />;

function NotFound() {
  const { pathname } = useLocation();
  return <section><h1>Not found</h1><p>No page at {pathname}. <a {...linkProps('/changes')}>Go to the changes</a>.</p></section>;
}

/**
 * Every page of the dashboard, under the signed-in shell (App). These paths are linked from the
 * README, the docs, the CLI's output and the demo: keep them. Segments after the ones a view reads
 * are ignored, as they always were.
 */
const routes: RouteObject[] = [{
  path: '/',
  element: <App />,
  children: [
    { index: true, element: <Navigate to="/changes" replace /> },
    // where the sign-in form was asked for; once signed in it goes on to the changes
    { path: 'login', element: <ChangesView /> },
    { path: 'login/:id/*', element: <ChangeDetailRoute /> },
    { path: 'changes', element: <ChangesView /> },
    { path: 'changes/:id/*', element: <ChangeDetailRoute /> },
    { path: 'fleet', element: <FleetView /> },
    { path: 'fleet/:cluster', element: <ClusterRoute /> },
    { path: 'fleet/:cluster/:instance/*', element: <InstanceRoute /> },
    { path: 'releases', element: <ReleasesView /> },
    { path: 'releases/:id/*', element: <ReleaseRoute /> },
    { path: 'requests', element: <RequestsView /> },
    { path: 'requests/:id/*', element: <RequestRoute /> },
    // /metrics is the server's Prometheus endpoint, so the DORA view lives at /dora
    { path: 'dora/*', element: <MetricsView /> },
    { path: '*', element: <NotFound /> },
  ],
}];

/** The page for the address bar's path. */
export function Pages() {
  return useRoutes(routes);
}
