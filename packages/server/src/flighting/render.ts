import { createHash } from 'node:crypto';
import { FleetValidationError, isUnsafeKey, loadFleet, renderFleet, validateFleet, type App, type Fleet, type RenderedInstance } from '@ringmaster/fleet';
import { InputError } from '../errors.ts';
import type { ImageOverride } from './model.ts';

/** A fleet revision rendered for a release: every instance, with the digest of its files. */
export interface RenderedRelease {
  fleet: Fleet;
  instances: Map<string, RenderedInstance>;
  digests: Map<string, string>;
}

/** Digest of an instance's rendered files: equal digests mean the manifest repo folder is identical. */
export function digestOf(inst: RenderedInstance): string {
  const h = createHash('sha256');
  for (const o of [...inst.objects].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))) h.update(o.file).update('\0').update(o.yaml).update('\0');
  return h.digest('hex');
}

/**
 * The segments of an override's dotted path, refused when one would reach an object's prototype
 * (`__proto__`, `constructor`, `prototype`): assigning through them changes every object of the process.
 */
export function imagePathOf(override: Pick<ImageOverride, 'path'>): string[] {
  const path = (override.path ?? 'image').split('.');
  const bad = path.find(isUnsafeKey);
  if (bad !== undefined) throw new InputError(`the image path "${override.path}" uses "${bad}", which is not allowed as a key (it would reach the prototype of every object)`, 'image.path');
  return path;
}

/** Sets the image value of one app (see ImageOverride); returns a new fleet, the loaded one is not changed. */
export function applyImageOverride(fleet: Fleet, override: ImageOverride): Fleet {
  const app = fleet.apps.get(override.app);
  if (!app) throw new InputError(`app "${override.app}" does not exist in the fleet (known: ${[...fleet.apps.keys()].sort().join(', ')})`, 'image.app');
  const path = imagePathOf(override);
  const values = structuredClone(app.values ?? {}) as Record<string, unknown>;
  let node = values;
  for (const key of path.slice(0, -1)) {
    // own properties only: an inherited one (toString, a polluted prototype) is not a value of the app
    const next = Object.hasOwn(node, key) ? node[key] : undefined;
    if (next === undefined || next === null) node[key] = {};
    else if (typeof next !== 'object' || Array.isArray(next)) throw new InputError(`the value "${key}" on the image path "${path.join('.')}" of app "${app.name}" is not a map`, 'image.path');
    node = node[key] as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  const current = Object.hasOwn(node, last) ? node[last] : undefined;
  // Charts commonly split an image into repository and tag; keep that shape when the app uses it.
  if (current && typeof current === 'object' && !Array.isArray(current) && Object.hasOwn(current, 'repository')) {
    const at = override.image.indexOf('@');
    const colon = override.image.lastIndexOf(':');
    const split = at >= 0 ? at : colon > override.image.lastIndexOf('/') ? colon : -1;
    node[last] = split < 0
      ? { ...current, repository: override.image }
      : { ...current, repository: override.image.slice(0, split), tag: override.image.slice(split + 1) };
  } else {
    node[last] = override.image;
  }
  const apps = new Map(fleet.apps);
  apps.set(app.name, { ...app, values } as App);
  return { ...fleet, apps };
}

/** Renders releases (revision + override), keeping the last few: the engine renders each one once. */
export class ReleaseRenderer {
  private readonly cache = new Map<string, Promise<RenderedRelease>>();
  constructor(readonly fleetRepo: string, private readonly keep = 4) {}

  /** Validates and renders; FleetValidationError becomes an InputError carrying the issues. */
  async render(revision: string, override: ImageOverride | null, opts: { validate?: boolean } = {}): Promise<RenderedRelease> {
    const key = `${revision}|${override ? JSON.stringify(override) : ''}`;
    let p = this.cache.get(key);
    if (!p) {
      p = this.doRender(revision, override, opts.validate ?? false);
      this.cache.set(key, p);
      p.catch(() => this.cache.delete(key));
      while (this.cache.size > this.keep) this.cache.delete(this.cache.keys().next().value!);
    }
    return p;
  }

  private async doRender(revision: string, override: ImageOverride | null, validate: boolean): Promise<RenderedRelease> {
    try {
      let fleet: Fleet;
      let rendered: RenderedInstance[];
      if (validate) {
        const v = await validateFleet(this.fleetRepo, revision);
        fleet = v.fleet;
        rendered = v.rendered;
      } else {
        fleet = await loadFleet(this.fleetRepo, revision);
        rendered = [];
      }
      if (override) {
        fleet = applyImageOverride(fleet, override);
        rendered = await renderFleet(fleet);
      } else if (!validate) {
        rendered = await renderFleet(fleet);
      }
      const instances = new Map(rendered.map((r) => [r.instance, r]));
      const digests = new Map(rendered.map((r) => [r.instance, digestOf(r)]));
      return { fleet, instances, digests };
    } catch (err) {
      if (err instanceof FleetValidationError) {
        throw new InputError(`revision ${revision.slice(0, 12)} of the fleet repo is invalid: ${err.issues.length} problem(s); nothing was written`, 'revision', { issues: err.issues });
      }
      throw err;
    }
  }
}
