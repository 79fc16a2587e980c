import { describe, expect, it } from 'vitest';
import { ANNOTATIONS, FIELD_MANAGER, LEGACY_ANNOTATIONS, applyObjects, inventoryId, inventoryObject, readInventory, refOf } from '../src/index.ts';
import { freshNamespace, useLocalKube, webApp } from './helpers.ts';

describe('prune with an inventory against a real kube-apiserver', () => {
  const kube = useLocalKube();

  it('prunes an object dropped from the desired set and leaves alone an object Ringmaster never created', async () => {
    const { client } = kube();
    const ns = await freshNamespace(kube(), 'prune');
    const inventory = { namespace: ns, name: 'ringmaster-inventory-web' };
    // someone else's ConfigMap in the same namespace, with a name Ringmaster will later use
    await client.create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'theirs', namespace: ns }, data: { owner: 'someone else' } });

    const full = webApp(ns);
    await applyObjects(client, full, { inventory });
    expect((await readInventory(client, inventory)).map((r) => r.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Service']);
    const cm = (await client.get(refOf(full[2]!)))!;
    expect(cm.metadata.annotations?.[ANNOTATIONS.inventory]).toBe(`${ns}/ringmaster-inventory-web`);

    const withoutConfigMap = full.filter((o) => o.kind !== 'ConfigMap');
    const dry = await applyObjects(client, withoutConfigMap, { inventory, dryRun: true });
    expect(dry.objects.find((o) => o.action === 'delete')?.ref).toMatchObject({ kind: 'ConfigMap', name: 'web-config' });
    expect(await client.get(refOf(full[2]!))).toBeDefined();

    const result = await applyObjects(client, withoutConfigMap, { inventory });
    expect(result.objects.filter((o) => o.action === 'delete').map((o) => o.ref.name)).toEqual(['web-config']);
    expect(await client.get(refOf(full[2]!))).toBeUndefined();
    expect(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'theirs' })).toBeDefined();
    expect((await readInventory(client, inventory)).map((r) => r.kind).sort()).toEqual(['Deployment', 'Service']);

    // an empty desired set prunes the rest, and still never touches "theirs"
    await applyObjects(client, [], { inventory });
    expect(await client.get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace: ns, name: 'web' })).toBeUndefined();
    expect(await client.get({ apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'theirs' })).toBeDefined();
  });

  it('does not delete an object recreated by someone else under a name the inventory remembers', async () => {
    const { client } = kube();
    const ns = await freshNamespace(kube(), 'recreated');
    const inventory = { namespace: ns, name: 'inv' };
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shared', namespace: ns }, data: { a: '1' } };
    await applyObjects(client, [cm], { inventory });
    await client.delete(refOf(cm));
    await client.create({ ...cm, data: { a: 'someone else' } });

    const result = await applyObjects(client, [], { inventory });
    expect(result.objects).toMatchObject([{ action: 'skip' }]);
    expect(((await client.get(refOf(cm)))?.data as Record<string, string>).a).toBe('someone else');
    expect(await readInventory(client, inventory)).toEqual([]);
  });

  it('separate inventories do not prune each other', async () => {
    const { client } = kube();
    const ns = await freshNamespace(kube(), 'twoinv');
    const a = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a', namespace: ns }, data: {} };
    const b = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b', namespace: ns }, data: {} };
    await applyObjects(client, [a], { inventory: { namespace: ns, name: 'inv-a' } });
    await applyObjects(client, [b], { inventory: { namespace: ns, name: 'inv-b' } });
    await applyObjects(client, [], { inventory: { namespace: ns, name: 'inv-a' } });
    expect(await client.get(refOf(a))).toBeUndefined();
    expect(await client.get(refOf(b))).toBeDefined();
  });

  it('takes over objects an older version applied under the ringmaster.io key: prunes what was dropped, moves what stays to the ringmaster.dev key', async () => {
    const { client } = kube();
    const ns = await freshNamespace(kube(), 'legacy');
    const inventory = { namespace: ns, name: 'inv' };
    const legacy = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, annotations: { [LEGACY_ANNOTATIONS.inventory]: inventoryId(inventory) } }, data: {} });
    // what an older version left: its objects and its inventory, applied by the same field manager
    for (const o of [legacy('kept'), legacy('dropped'), inventoryObject(inventory, [refOf(legacy('kept')), refOf(legacy('dropped'))])]) {
      await client.apply(o, { fieldManager: FIELD_MANAGER, force: true });
    }

    const kept = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kept', namespace: ns }, data: {} };
    const result = await applyObjects(client, [kept], { inventory });
    expect(result.objects.filter((o) => o.action === 'delete').map((o) => o.ref.name)).toEqual(['dropped']);
    expect(await client.get(refOf(legacy('dropped')))).toBeUndefined();
    const live = (await client.get(refOf(kept)))!;
    expect(live.metadata.annotations?.[ANNOTATIONS.inventory]).toBe(inventoryId(inventory));
    expect(live.metadata.annotations?.[LEGACY_ANNOTATIONS.inventory]).toBeUndefined();
  });
});
