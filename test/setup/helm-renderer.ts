// Every test file stops the helm renderers it started (packages/fleet/src/helm-renderer.ts), even on
// failure: an idle renderer never keeps a process running, but a test leaves nothing behind.
import { afterAll } from 'vitest';
import { closeHelmRenderers } from '../../packages/fleet/src/helm-renderer.ts';

afterAll(closeHelmRenderers);
