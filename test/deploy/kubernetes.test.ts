/**
 * The Kustomize base and the example overlay: files parse and exist, the shipped configurations
 * validate, and the rendered objects (kubectl kustomize) are consistent with each other and with
 * the image.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import {
  deployPath,
  hasKubectl,
  isRecord,
  type K8sObject,
  listFiles,
  RUNBOOK_BASE,
  readText,
  readYaml,
  renderKustomization,
} from './artifacts.js';

interface EnvVar {
  name: string;
  value?: string;
}

interface Probe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
}

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
}

interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
}

interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string; defaultMode?: number };
  emptyDir?: Record<string, unknown>;
}

interface PodSpec {
  containers: Container[];
  securityContext?: SecurityContext & { fsGroup?: number };
  volumes?: Volume[];
  terminationGracePeriodSeconds?: number;
  automountServiceAccountToken?: boolean;
}

interface DeploymentSpec {
  replicas?: number;
  selector: { matchLabels: Record<string, string> };
  template: {
    metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
    spec: PodSpec;
  };
}

interface ServiceSpec {
  selector: Record<string, string>;
  ports: { name: string; port: number; targetPort: string | number }[];
}

interface PdbSpec {
  minAvailable?: number | string;
  selector: { matchLabels: Record<string, string> };
}

interface HpaSpec {
  scaleTargetRef: { apiVersion: string; kind: string; name: string };
  minReplicas: number;
  maxReplicas: number;
  metrics: { type: string; resource?: { name: string; target: { type: string } } }[];
}

const KUBERNETES = deployPath('kubernetes');
const BASE = path.join(KUBERNETES, 'base');
const OVERLAY = path.join(KUBERNETES, 'overlays', 'example');
const NAMESPACED = ['ServiceAccount', 'ConfigMap', 'Secret', 'Service', 'Deployment'];
// CI puts a current kubectl on the PATH (.ci/run): there a missing one is a failure, not a skip.
const renders = hasKubectl || process.env.CI === 'true';
const KUBECTL_MISSING = renders ? '' : ' [SKIPPED: kubectl is not installed, cannot render]';

function one(objects: readonly K8sObject[], kind: string): K8sObject {
  const found = objects.filter((object) => object.kind === kind);
  expect(found, `exactly one ${kind}`).toHaveLength(1);
  return found[0]!;
}

const specOf = <T>(object: K8sObject): T => object.spec as T;

function mainContainer(deployment: K8sObject): Container {
  const container = specOf<DeploymentSpec>(deployment).template.spec.containers.find(
    (c) => c.name === 'scopegate',
  );
  expect(container).toBeDefined();
  return container!;
}

/** Literal env values of the container: what `${VAR}` in the configuration resolves against. */
function envOf(container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env ?? []) {
    if (variable.value !== undefined) env[variable.name] = variable.value;
  }
  return env;
}

function validateConfig(text: string, label: string, env: Record<string, string>): Config {
  const result = parseConfigText(text, label, env);
  expect(result.ok ? [] : result.errors).toEqual([]);
  if (!result.ok) throw new Error('unreachable');
  return result.config;
}

function hostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
}

function cpuMillis(quantity: string): number {
  return quantity.endsWith('m') ? Number(quantity.slice(0, -1)) : Number(quantity) * 1000;
}

function memoryBytes(quantity: string): number {
  const units: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, '': 1 };
  const match = /^(\d+)(Ki|Mi|Gi|)$/.exec(quantity);
  if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
  return Number(match[1]) * units[match[2]!]!;
}

function preStopSeconds(container: Container): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep) return preStop.sleep.seconds;
  const command = preStop?.exec?.command ?? [];
  return command[0] === 'sleep' ? Number(command[1]) : 0;
}

function kustomizationReferences(dir: string): string[] {
  const kustomization = readYaml(path.join(dir, 'kustomization.yaml'));
  if (!isRecord(kustomization)) throw new Error(`${dir}/kustomization.yaml is not a mapping`);
  const refs: string[] = [];
  for (const resource of (kustomization.resources as string[] | undefined) ?? []) {
    refs.push(resource);
  }
  for (const key of ['configMapGenerator', 'secretGenerator']) {
    const generators = (kustomization[key] as { files?: string[] }[] | undefined) ?? [];
    for (const generator of generators) {
      for (const file of generator.files ?? []) refs.push(file.replace(/^[^=]*=/, ''));
    }
  }
  for (const patch of (kustomization.patches as { path?: string }[] | undefined) ?? []) {
    if (patch.path) refs.push(patch.path);
  }
  return refs;
}

describe('Kubernetes manifests: static checks', () => {
  it('every YAML file under deploy/kubernetes parses', () => {
    const files = listFiles(KUBERNETES).filter((file) => /\.ya?ml$/.test(file));
    expect(files.length).toBeGreaterThan(8);
    for (const file of files) expect(() => readYaml(file), file).not.toThrow();
  });

  it.each([
    ['base', BASE],
    ['overlays/example', OVERLAY],
  ])('every file the %s kustomization references exists', (_name, dir) => {
    const refs = kustomizationReferences(dir);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(existsSync(path.join(dir, ref)), ref).toBe(true);
  });

  it.each([
    ['base', BASE],
    ['overlays/example', OVERLAY],
  ])('the %s scopegate.yaml validates against the configuration schema', (_name, dir) => {
    const deployment = readYaml(path.join(BASE, 'deployment.yaml')) as unknown as K8sObject;
    const env = envOf(mainContainer(deployment));
    const file = path.join(dir, 'scopegate.yaml');
    const config = validateConfig(readText(file), file, env);
    expect(hostPort(config.listen)).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(hostPort(config.admin_listen ?? '')).toEqual({ host: '0.0.0.0', port: 9090 });
    expect(config.log.format).toBe('json');
    for (const key of config.signing.keys) {
      expect(key.private_key, `${key.kid}: keys come from files, not inline`).toBeUndefined();
      expect(key.private_key_file).toMatch(/^\/etc\/scopegate-keys\/[^/]+$/);
    }
  });

  it('the configuration check itself rejects a broken file', () => {
    const result = parseConfigText('listen: "0.0.0.0:8080"\nbogus: 1\n', 'broken.yaml', {});
    expect(result.ok).toBe(false);
  });
});

describe.each([
  ['overlays/example', OVERLAY],
  ['base', BASE],
])('Kubernetes manifests: rendered %s', (name, dir) => {
  const isOverlay = dir === OVERLAY;
  const render = () => renderKustomization(dir);
  const deployment = () => one(render(), 'Deployment');
  const pod = () => specOf<DeploymentSpec>(deployment()).template;

  it.skipIf(!renders)(`renders with kubectl kustomize${KUBECTL_MISSING}`, () => {
    const kinds = render().map((object) => object.kind);
    const expected = [
      'Deployment',
      'Service',
      'ConfigMap',
      'PodDisruptionBudget',
      'HorizontalPodAutoscaler',
      'ServiceAccount',
    ];
    if (isOverlay) expected.push('Secret', 'Namespace');
    expect(kinds).toEqual(expect.arrayContaining(expected));
    if (!isOverlay) {
      // The base leaves the signing keys Secret to the overlay or the operator.
      expect(kinds).not.toContain('Secret');
    }
  });

  it.skipIf(!renders)(`uses current API versions${KUBECTL_MISSING}`, () => {
    const versions = Object.fromEntries(render().map((o) => [o.kind, o.apiVersion]));
    expect(versions).toMatchObject({
      Deployment: 'apps/v1',
      Service: 'v1',
      ConfigMap: 'v1',
      PodDisruptionBudget: 'policy/v1',
      HorizontalPodAutoscaler: 'autoscaling/v2',
    });
  });

  it.skipIf(!renders)(`sets the namespace, image and replicas${KUBECTL_MISSING}`, () => {
    const container = mainContainer(deployment());
    expect(container.image).toMatch(/:[\w.-]+$/);
    expect(container.image).not.toMatch(/:latest$/);
    if (isOverlay) {
      for (const object of render().filter((o) => NAMESPACED.includes(o.kind))) {
        expect(object.metadata.namespace, `${object.kind}/${object.metadata.name}`).toBe(
          'identity',
        );
      }
      expect(one(render(), 'Namespace').metadata.name).toBe('identity');
      expect(container.image).toBe('registry.example.com/platform/scopegate:0.1.0');
      expect(specOf<DeploymentSpec>(deployment()).replicas).toBe(3);
      expect(specOf<HpaSpec>(one(render(), 'HorizontalPodAutoscaler')).minReplicas).toBe(3);
    } else {
      expect(specOf<DeploymentSpec>(deployment()).replicas).toBe(2);
    }
  });

  it.skipIf(!renders)(`probes the admin port: /healthz and /readyz${KUBECTL_MISSING}`, () => {
    const container = mainContainer(deployment());
    const admin = container.ports?.find((port) => port.name === 'admin');
    const http = container.ports?.find((port) => port.name === 'http');
    expect(admin?.containerPort).toBe(9090);
    expect(http?.containerPort).toBe(8080);
    const onAdmin = (probe: Probe | undefined) =>
      probe?.httpGet?.port === 'admin' || probe?.httpGet?.port === 9090;
    expect(container.livenessProbe?.httpGet?.path).toBe('/healthz');
    expect(onAdmin(container.livenessProbe)).toBe(true);
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(onAdmin(container.readinessProbe)).toBe(true);
    if (container.startupProbe) {
      expect(container.startupProbe.httpGet?.path).toBe('/healthz');
      expect(onAdmin(container.startupProbe)).toBe(true);
    }
  });

  it.skipIf(!renders)(`runs locked down${KUBECTL_MISSING}`, () => {
    const spec = pod().spec;
    const container = mainContainer(deployment());
    const security = container.securityContext ?? {};
    expect(security.runAsNonRoot ?? spec.securityContext?.runAsNonRoot).toBe(true);
    expect(security.runAsUser ?? spec.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(security.readOnlyRootFilesystem).toBe(true);
    expect(security.allowPrivilegeEscalation).toBe(false);
    expect(security.privileged ?? false).toBe(false);
    expect(security.capabilities?.drop).toEqual(['ALL']);
    expect(security.capabilities?.add ?? []).toEqual([]);
    expect((security.seccompProfile ?? spec.securityContext?.seccompProfile)?.type).toBe(
      'RuntimeDefault',
    );
    expect(spec.automountServiceAccountToken).toBe(false);
    // The only writable path is an emptyDir on /tmp.
    const tmp = container.volumeMounts?.find((mount) => mount.mountPath === '/tmp');
    expect(spec.volumes?.find((volume) => volume.name === tmp?.name)?.emptyDir).toBeDefined();
    for (const mount of container.volumeMounts ?? []) {
      if (mount.mountPath !== '/tmp') expect(mount.readOnly, mount.mountPath).toBe(true);
    }
  });

  it.skipIf(!renders)(`requests and limits CPU and memory${KUBECTL_MISSING}`, () => {
    const { requests, limits } = mainContainer(deployment()).resources ?? {};
    expect(requests?.cpu).toBeDefined();
    expect(requests?.memory).toBeDefined();
    expect(limits?.cpu).toBeDefined();
    expect(limits?.memory).toBeDefined();
    expect(cpuMillis(requests!.cpu!)).toBeLessThanOrEqual(cpuMillis(limits!.cpu!));
    expect(memoryBytes(requests!.memory!)).toBeLessThanOrEqual(memoryBytes(limits!.memory!));
  });

  it.skipIf(!renders)(`is scraped by Prometheus on the admin port${KUBECTL_MISSING}`, () => {
    const annotations = pod().metadata.annotations ?? {};
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(annotations['prometheus.io/port']).toBe('9090');
    expect(annotations['prometheus.io/path']).toBe('/metrics');
  });

  it.skipIf(!renders)(
    `exposes http 8080 and admin 9090 on a Service that selects the pods${KUBECTL_MISSING}`,
    () => {
      const service = specOf<ServiceSpec>(one(render(), 'Service'));
      const ports = Object.fromEntries(service.ports.map((p) => [p.name, [p.port, p.targetPort]]));
      expect(ports).toEqual({ http: [8080, 'http'], admin: [9090, 'admin'] });
      expect(pod().metadata.labels).toMatchObject(service.selector);
      const selector = specOf<DeploymentSpec>(deployment()).selector.matchLabels;
      expect(pod().metadata.labels).toMatchObject(selector);
    },
  );

  it.skipIf(!renders)(
    `keeps one pod through disruptions and scales on CPU${KUBECTL_MISSING}`,
    () => {
      const pdb = specOf<PdbSpec>(one(render(), 'PodDisruptionBudget'));
      expect(pdb.minAvailable).toBe(1);
      expect(pod().metadata.labels).toMatchObject(pdb.selector.matchLabels);
      const hpa = specOf<HpaSpec>(one(render(), 'HorizontalPodAutoscaler'));
      expect(hpa.scaleTargetRef).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: deployment().metadata.name,
      });
      expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);
      expect(hpa.maxReplicas).toBeGreaterThan(hpa.minReplicas);
      expect(hpa.metrics).toContainEqual(
        expect.objectContaining({
          type: 'Resource',
          resource: expect.objectContaining({ name: 'cpu' }),
        }),
      );
    },
  );

  it.skipIf(!renders)(
    `mounts a ConfigMap whose scopegate.yaml validates and matches the pod${KUBECTL_MISSING}`,
    () => {
      const spec = pod().spec;
      const container = mainContainer(deployment());
      const configMap = one(render(), 'ConfigMap');
      // A generated name (content hash) and the Deployment follows it.
      expect(configMap.metadata.name).toMatch(/^scopegate-config-[a-z0-9]{10}$/);
      const volume = spec.volumes?.find((v) => v.configMap?.name === configMap.metadata.name);
      expect(volume, 'a volume from the generated ConfigMap').toBeDefined();
      const mount = container.volumeMounts?.find((m) => m.name === volume?.name);
      const configArg = container.args?.[container.args.indexOf('--config') + 1];
      expect(configArg).toBe(`${mount?.mountPath}/scopegate.yaml`);

      const text = configMap.data?.['scopegate.yaml'];
      expect(text).toBeDefined();
      const config = validateConfig(text!, `${name} ConfigMap scopegate.yaml`, envOf(container));
      const ports = Object.fromEntries((container.ports ?? []).map((p) => [p.name, p]));
      expect(hostPort(config.listen)).toEqual({ host: '0.0.0.0', port: ports.http?.containerPort });
      expect(hostPort(config.admin_listen ?? '')).toEqual({
        host: '0.0.0.0',
        port: ports.admin?.containerPort,
      });
      // SIGTERM: preStop pause + shutdown_grace must end before Kubernetes kills the pod.
      const grace = spec.terminationGracePeriodSeconds ?? 30;
      expect(config.server.shutdown_grace / 1000 + preStopSeconds(container)).toBeLessThan(grace);
      if (isOverlay) {
        const base = readText(path.join(BASE, 'scopegate.yaml'));
        expect(text).not.toBe(base);
        expect(config.upstream.url).not.toBe('https://tenant.example.com');
      }
    },
  );

  it.skipIf(!renders)(
    `reads the signing keys from the Secret the configuration names${KUBECTL_MISSING}`,
    () => {
      const spec = pod().spec;
      const container = mainContainer(deployment());
      const keysVolume = spec.volumes?.find((v) => v.secret !== undefined);
      expect(keysVolume).toBeDefined();
      const keysMount = container.volumeMounts?.find((m) => m.name === keysVolume?.name);
      expect(keysMount?.mountPath).toBe('/etc/scopegate-keys');
      // Readable by owner and group (the pod's fsGroup) only.
      expect((keysVolume?.secret?.defaultMode ?? 0o644) & 0o007).toBe(0);
      expect(spec.securityContext?.fsGroup).toBeDefined();

      const configMap = one(render(), 'ConfigMap');
      const config = validateConfig(
        configMap.data?.['scopegate.yaml'] ?? '',
        `${name} ConfigMap scopegate.yaml`,
        envOf(container),
      );
      const keyFiles = config.signing.keys.map((key) => key.private_key_file ?? '');
      for (const file of keyFiles) expect(path.posix.dirname(file)).toBe(keysMount?.mountPath);

      if (!isOverlay) {
        expect(keysVolume?.secret?.secretName).toBe('scopegate-signing-keys');
        return;
      }
      const secret = one(render(), 'Secret');
      expect(secret.metadata.name).toMatch(/^scopegate-signing-keys-[a-z0-9]{10}$/);
      expect(keysVolume?.secret?.secretName).toBe(secret.metadata.name);
      const data = secret.data ?? {};
      expect(Object.keys(data).sort()).toEqual(keyFiles.map((f) => path.posix.basename(f)).sort());
      for (const [key, encoded] of Object.entries(data)) {
        const value = Buffer.from(encoded, 'base64').toString('utf8');
        expect(value, `${key} is a placeholder, never a key`).toMatch(/^PLACEHOLDER-/);
        expect(value).not.toMatch(/PRIVATE KEY/);
      }
    },
  );
});

describe('the monitoring overlay (Prometheus Operator)', () => {
  const MONITORING = path.join(KUBERNETES, 'overlays', 'monitoring');
  const REGENERATE = `node -e 'const fs=require("fs"),Y=require("yaml");const f="deploy/kubernetes/overlays/monitoring/prometheusrule.yaml";const d=Y.parseAllDocuments(fs.readFileSync(f,"utf8"))[0];d.setIn(["spec","groups"],Y.parse(fs.readFileSync("deploy/prometheus/alerts.yaml","utf8")).groups);fs.writeFileSync(f,d.toString({lineWidth:100}))' && npx biome format --write deploy/kubernetes/overlays/monitoring/prometheusrule.yaml`;

  it('carries exactly the alert rules of deploy/prometheus/alerts.yaml', () => {
    const rules = readYaml(deployPath('prometheus', 'alerts.yaml')) as { groups: unknown };
    const resource = readYaml(path.join(MONITORING, 'prometheusrule.yaml')) as K8sObject;
    expect(resource.kind).toBe('PrometheusRule');
    expect(
      (resource.spec as { groups: unknown }).groups,
      `prometheusrule.yaml is stale; regenerate it: ${REGENERATE}`,
    ).toEqual(rules.groups);
  });

  it.skipIf(!renders)(
    `renders a ServiceMonitor on the admin port and the rules with absolute runbook links from one base${KUBECTL_MISSING}`,
    () => {
      const objects = renderKustomization(MONITORING);
      const base = (readYaml(path.join(MONITORING, 'runbooks.yaml')) as K8sObject).data?.base;
      expect(base).toMatch(/^https:\/\//);
      // The runbook base is configuration, never applied to the cluster.
      expect(objects.filter((object) => object.metadata.name === 'scopegate-runbooks')).toEqual([]);
      const monitor = one(objects, 'ServiceMonitor');
      expect(monitor.metadata.namespace).toBe('identity');
      const service = one(objects, 'Service');
      const selector = (monitor.spec as { selector: { matchLabels: Record<string, string> } })
        .selector.matchLabels;
      for (const [label, value] of Object.entries(selector)) {
        expect(service.metadata.labels?.[label], label).toBe(value);
      }
      const endpoints = (monitor.spec as { endpoints: Array<{ port: string; path: string }> })
        .endpoints;
      const ports = (service.spec as { ports: Array<{ name: string }> }).ports.map((p) => p.name);
      expect(endpoints).toHaveLength(1);
      expect(ports).toContain(endpoints[0]?.port);
      expect(endpoints[0]).toMatchObject({ port: 'admin', path: '/metrics' });

      const rule = one(objects, 'PrometheusRule');
      expect(rule.metadata.namespace).toBe('identity');
      const alerts = (
        rule.spec as {
          groups: Array<{ rules: Array<{ alert: string; annotations: Record<string, string> }> }>;
        }
      ).groups.flatMap((group) => group.rules);
      expect(alerts.length).toBeGreaterThan(10);
      for (const alert of alerts) {
        expect(alert.annotations.runbook_url, alert.alert).toBe(
          `${base}#${alert.alert.toLowerCase()}`,
        );
        expect(alert.annotations.runbook_url).not.toContain(RUNBOOK_BASE);
      }
      // The example overlay it builds on is all there too.
      one(objects, 'Deployment');
    },
  );
});
