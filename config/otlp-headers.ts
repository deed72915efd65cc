/**
 * OTLP exporter headers as text: `key=value,key2=value2`, each side percent-encoded (the format of
 * OTEL_EXPORTER_OTLP_HEADERS). Read from the environment and from `tracing.exporter.headers_file`
 * (an API key is a secret: Kubernetes mounts it as a file).
 */
export function parseOtlpHeaders(text: string | undefined): Record<string, string> | undefined {
  const value = text?.trim();
  if (value === undefined || value === '') return undefined;
  const headers: Record<string, string> = {};
  for (const pair of value.split(',')) {
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    try {
      const name = decodeURIComponent(pair.slice(0, at).trim());
      if (name !== '') headers[name] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      // A pair that is not valid percent-encoding is skipped, as the SDK does.
    }
  }
  return headers;
}
