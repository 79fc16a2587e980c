import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** File paths of the throwaway PKI of a local control plane. */
export interface LocalPki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function signed(dir: string, name: string, subject: string, extensions: string[]): void {
  openssl(dir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  writeFileSync(join(dir, `${name}.ext`), extensions.join('\n') + '\n');
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '3650', '-extfile', `${name}.ext`]);
}

/** A client certificate signed by the PKI's CA (`<dir>/<name>.crt|key`), e.g. for a controller's own identity. */
export function clientCertificate(dir: string, name: string, subject: string): { cert: string; key: string } {
  signed(dir, name, subject, ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=clientAuth']);
  return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

/**
 * Generates a CA, a serving certificate for 127.0.0.1, an admin client certificate in group
 * system:masters and the service-account signing keys, with the openssl CLI (node:crypto can make
 * keys but not X.509 certificates).
 */
export function generateLocalPki(dir: string): LocalPki {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '3650',
    '-subj', '/CN=ringmaster-local-ca', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature']);
  signed(dir, 'server', '/CN=kube-apiserver', [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc',
  ]);
  clientCertificate(dir, 'admin', '/O=system:masters/CN=ringmaster-admin');
  const sa = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  writeFileSync(join(dir, 'sa.key'), sa.privateKey.export({ type: 'sec1', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(dir, 'sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));
  return {
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
  };
}

/** A kubeconfig (YAML) for the admin user, with certificates embedded so the file stands alone. */
export function adminKubeconfig(server: string, pki: LocalPki, name = 'ringmaster-local'): string {
  return kubeconfigYaml([{ name, server, caCert: pki.caCert, cert: pki.adminCert, key: pki.adminKey, user: 'ringmaster-admin' }]);
}

/** One context of a kubeconfig: a cluster and the client certificate used for it. */
export interface KubeconfigEntry {
  name: string;
  server: string;
  caCert: string;
  cert: string;
  key: string;
  user: string;
}

/** A kubeconfig (YAML) with one context per entry, named after it; the first is the current one. */
export function kubeconfigYaml(entries: KubeconfigEntry[]): string {
  const b64 = (p: string) => readFileSync(p).toString('base64');
  const lines = ['apiVersion: v1', 'kind: Config', 'clusters:'];
  for (const e of entries) lines.push(`- name: ${e.name}`, '  cluster:', `    server: ${e.server}`, `    certificate-authority-data: ${b64(e.caCert)}`);
  lines.push('users:');
  for (const e of entries) lines.push(`- name: ${e.name}-${e.user}`, '  user:', `    client-certificate-data: ${b64(e.cert)}`, `    client-key-data: ${b64(e.key)}`);
  lines.push('contexts:');
  for (const e of entries) lines.push(`- name: ${e.name}`, '  context:', `    cluster: ${e.name}`, `    user: ${e.name}-${e.user}`);
  lines.push(`current-context: ${entries[0]?.name ?? ''}`, '');
  return lines.join('\n');
}
