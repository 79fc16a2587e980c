import { applyObjects } from './apply.ts';
import type { KubeClient } from './client.ts';
import type { KubeObject } from '@ringmaster/kube-common';

function argoCrd(kind: string, plural: string, shortNames: string[], columns: { name: string; jsonPath: string }[]): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.argoproj.io`, labels: { 'app.kubernetes.io/part-of': 'argocd' } },
    spec: {
      group: 'argoproj.io',
      scope: 'Namespaced',
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), shortNames },
      versions: [
        {
          name: 'v1alpha1',
          served: true,
          storage: true,
          // open schema: tests and later work read and write whatever Argo CD would
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
          subresources: { status: {} },
          additionalPrinterColumns: columns.map((c) => ({ ...c, type: 'string' })),
        },
      ],
    },
  };
}

/** Minimal CRDs for Argo CD's Application and ApplicationSet (argoproj.io/v1alpha1, open schema, status subresource). */
export function argoCrds(): KubeObject[] {
  return [
    argoCrd('Application', 'applications', ['app', 'apps'], [
      { name: 'Sync Status', jsonPath: '.status.sync.status' },
      { name: 'Health Status', jsonPath: '.status.health.status' },
    ]),
    argoCrd('ApplicationSet', 'applicationsets', ['appset', 'appsets'], []),
  ];
}

/** Installs (server-side applies) the Argo CD CRDs and waits until they are Established. */
export async function installArgoCrds(client: KubeClient): Promise<void> {
  await applyObjects(client, argoCrds());
}
