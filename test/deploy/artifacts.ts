/** Shared helpers for the deploy artifact tests: paths, YAML reading, Kubernetes rendering. */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const DEPLOY = path.join(ROOT, 'deploy');

export function deployPath(...segments: string[]): string {
  return path.join(DEPLOY, ...segments);
}

export function readText(file: string): string {
  return readFileSync(file, 'utf8');
}

/** Parses one YAML document strictly: any parse error or warning fails. */
export function readYaml(file: string): unknown {
  return parse(readText(file), { prettyErrors: true, strict: true, uniqueKeys: true });
}

/** Every file under a directory, recursively, as absolute paths. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...listFiles(full));
    else out.push(full);
  }
  return out.sort();
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function commandWorks(command: string, args: string[]): boolean {
  const result = spawnSync(command, args, { stdio: 'ignore', timeout: 10_000 });
  return result.error === undefined && result.status === 0;
}

export const hasKubectl = commandWorks('kubectl', ['version', '--client']);
export const hasPromtool = commandWorks('promtool', ['--version']);

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: unknown;
}

const rendered = new Map<string, K8sObject[]>();

/** `kubectl kustomize DIR`, parsed; cached per directory. */
export function renderKustomization(dir: string): K8sObject[] {
  const cached = rendered.get(dir);
  if (cached) return cached;
  const output = execFileSync('kubectl', ['kustomize', dir], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(output)) {
    if (doc.errors.length > 0) throw new Error(`kubectl kustomize ${dir}: ${doc.errors[0]}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isRecord(value) || typeof value.kind !== 'string') {
      throw new Error(`kubectl kustomize ${dir}: a document is not a Kubernetes object`);
    }
    objects.push(value as unknown as K8sObject);
  }
  rendered.set(dir, objects);
  return objects;
}

/** The placeholder base of every runbook_url (deploy/prometheus/alerts.yaml says how to set it). */
export const RUNBOOK_BASE = 'https://scopegate.invalid/deploy/README.md';
