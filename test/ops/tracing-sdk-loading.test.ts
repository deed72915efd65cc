/**
 * With tracing off, the OpenTelemetry SDK and its OTLP exporter are never loaded: the whole
 * server's module graph (the compiled one `npm test` builds) imports only the API. Watched with a
 * resolve hook in a fresh process; the control imports the module that loads the SDK on demand.
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
