// The tests' Prometheus is the one the demo uses too: packages/server/src/outside/local-prometheus.ts.
export { startPrometheus, TestExporter, type TestPrometheus } from '../../src/outside/local-prometheus.ts';
