export function ReleasesView() {
  return <section><h1>Releases</h1><p>Coming soon.</p></section>;
}
export function ReleaseView({ id }: { id: string }) {
  return <section><h1>Release {id}</h1></section>;
}
