/**
 * What a process does not load, in the compiled module graph `npm test` builds, each checked in a
 * fresh process with a control that shows the check can see it:
 * - with tracing off, the OpenTelemetry SDK and its OTLP exporter (the server imports only the
 *   API; watched with a resolve hook);
 * - Node.js's own bundled undici (an ES module import of node:http loads it: node-http.ts).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../proxy/observability/package-root.js';

const DIST = path.join(packageRoot(), 'dist', 'proxy');
const SDK_PACKAGES = [
  '@opentelemetry/sdk-trace',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/context-async-hooks',
  '@opentelemetry/resources',
];

/** The bare package specifiers resolved while `module` is imported. */
function packagesResolvedBy(module: string): string[] {
  const script = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({
      resolve(specifier, context, next) {
        if (!specifier.startsWith('.') && !specifier.startsWith('node:') && !specifier.startsWith('file:')) seen.add(specifier);
        return next(specifier, context);
      },
    });
    await import(${JSON.stringify(`file://${module}`)});
    process.stdout.write(JSON.stringify([...seen]));
  `;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: packageRoot(),
  });
  return JSON.parse(output.toString()) as string[];
}

describe('tracing off loads no OpenTelemetry SDK', () => {
  it('the server (instance, primary, worker) imports only the OpenTelemetry API', () => {
    const instance = packagesResolvedBy(path.join(DIST, 'server', 'instance.js'));
    // The graph was walked: the API tracing.ts imports is in it.
    expect(instance).toContain('@opentelemetry/api');
    for (const sdk of SDK_PACKAGES) expect(instance).not.toContain(sdk);
    for (const module of ['serve.js', 'cluster-primary.js', 'worker-process.js']) {
      const resolved = packagesResolvedBy(path.join(DIST, 'server', module));
      for (const sdk of SDK_PACKAGES) expect(resolved, module).not.toContain(sdk);
    }
  });

  it('the SDK module, loaded when tracing is on, brings them all (the check can see them)', () => {
    const resolved = packagesResolvedBy(path.join(DIST, 'observability', 'tracing-provider.js'));
    for (const sdk of SDK_PACKAGES) expect(resolved).toContain(sdk);
  });
});

/** Whether importing `module` (a file path, or a built-in by name) loads Node.js's own undici. */
function loadsBundledUndici(module: string, how: 'import' | 'require' = 'import'): boolean {
  const load =
    how === 'import'
      ? `await import(${JSON.stringify(module.startsWith('node:') ? module : `file://${module}`)});`
      : `(await import('node:module')).createRequire(import.meta.url)(${JSON.stringify(module)});`;
  const script = `${load}
    process.stdout.write(String(process.moduleLoadList.some((name) => name.includes('deps/undici'))));`;
  const output = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: packageRoot(),
  });
  return output.toString() === 'true';
}

describe("no process loads Node.js's bundled undici", () => {
  it('the public server, the primary, a worker and the demo do not', () => {
    for (const module of [
      'server/instance.js',
      'server/public-server.js',
      'server/cluster-primary.js',
      'server/worker-process.js',
      'demo/run-demo.js',
    ]) {
      expect(loadsBundledUndici(path.join(DIST, module)), module).toBe(false);
    }
  });

  it('an ES module import of node:http would, a require does not (the check can see it)', () => {
    expect(loadsBundledUndici('node:http')).toBe(true);
    expect(loadsBundledUndici('node:http', 'require')).toBe(false);
  });
});
