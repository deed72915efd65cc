/** deploy/docker-compose.yaml: the demo service and the optional monitoring profile. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEPLOY, deployPath, isRecord, ROOT, readYaml } from './artifacts.js';

interface ComposeService {
  build?: { context: string; dockerfile: string };
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  user?: string;
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  volumes?: string[];
  profiles?: string[];
}

interface Compose {
  services: Record<string, ComposeService>;
}

const compose = readYaml(deployPath('docker-compose.yaml')) as Compose;
const scopegate = compose.services.scopegate;

/** Container port of a `[host_ip:]host_port:container_port` mapping. */
function containerPort(mapping: string): number {
  return Number(
    mapping
      .split(':')
      .at(-1)
      ?.replace(/\/(tcp|udp)$/, ''),
  );
}

describe('deploy/docker-compose.yaml', () => {
  it('parses and defines the scopegate service', () => {
    expect(isRecord(compose.services)).toBe(true);
    expect(scopegate).toBeDefined();
  });

  it('builds the image from the repository root with deploy/Dockerfile', () => {
    expect(scopegate?.build).toBeDefined();
    const context = path.resolve(DEPLOY, scopegate!.build!.context);
    expect(context).toBe(ROOT);
    expect(scopegate!.build!.dockerfile).toBe('deploy/Dockerfile');
    expect(existsSync(path.join(context, scopegate!.build!.dockerfile))).toBe(true);
  });

  it('runs the demo listening on all interfaces, ports 8080 and 9090', () => {
    expect(scopegate?.command).toEqual(['demo']);
    expect(scopegate?.environment).toMatchObject({
      SCOPEGATE_DEMO_LISTEN: '0.0.0.0:8080',
      SCOPEGATE_DEMO_ADMIN_LISTEN: '0.0.0.0:9090',
    });
    expect((scopegate?.ports ?? []).map(containerPort).sort()).toEqual([8080, 9090]);
  });

  it('runs read-only, unprivileged, as a non-root user', () => {
    expect(scopegate?.read_only).toBe(true);
    expect(scopegate?.tmpfs).toContain('/tmp');
    expect(scopegate?.user).toMatch(/^[1-9]\d*(?::[1-9]\d*)?$/);
    expect(scopegate?.cap_drop).toEqual(['ALL']);
    expect(scopegate?.security_opt).toContain('no-new-privileges:true');
  });

  it('pins every image to a version, never latest', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build) continue;
      expect(service.image, name).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(service.image, name).not.toMatch(/:latest$/);
    }
  });

  it('keeps monitoring optional and mounts files that exist', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (name !== 'scopegate') expect(service.profiles, name).toEqual(['monitoring']);
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (!source.startsWith('.')) continue;
        expect(existsSync(path.resolve(DEPLOY, source)), `${name}: ${source}`).toBe(true);
      }
    }
  });

  it('loads the alert rules into Prometheus and scrapes the admin port', () => {
    const prometheus = compose.services.prometheus;
    const mounts = new Map(
      (prometheus?.volumes ?? []).map((volume) => {
        const [source, target] = volume.split(':');
        return [target!, path.resolve(DEPLOY, source!)];
      }),
    );
    const config = readYaml(deployPath('prometheus', 'prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    for (const rules of config.rule_files) {
      expect(mounts.get(rules), rules).toBe(deployPath('prometheus', 'alerts.yaml'));
    }
    const targets = config.scrape_configs.flatMap((job) =>
      job.static_configs.flatMap((group) => group.targets),
    );
    expect(targets).toContain('scopegate:9090');
  });

  it('provisions the dashboard and a Prometheus data source in Grafana', () => {
    const grafana = compose.services.grafana;
    const volumes = grafana?.volumes ?? [];
    expect(volumes.some((v) => v.startsWith('./grafana/scopegate-dashboard.json:'))).toBe(true);
    const datasources = readYaml(
      deployPath('grafana', 'provisioning', 'datasources', 'prometheus.yaml'),
    ) as { datasources: { type: string; url: string }[] };
    expect(datasources.datasources[0]).toMatchObject({
      type: 'prometheus',
      url: 'http://prometheus:9090',
    });
    const providers = readYaml(
      deployPath('grafana', 'provisioning', 'dashboards', 'scopegate.yaml'),
    ) as { providers: { options: { path: string } }[] };
    const dashboardTarget = volumes
      .find((v) => v.startsWith('./grafana/scopegate-dashboard.json:'))
      ?.split(':')[1];
    expect(path.posix.dirname(dashboardTarget ?? '')).toBe(providers.providers[0]?.options.path);
  });
});
