/**
 * `${NAME}` and `${NAME:-default}` in string values are replaced from the environment, so
 * secrets stay out of the file. `$${` writes a literal `${`. An unset variable without a default
 * is an error, never an empty string.
 */
const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export type InterpolationResult = { ok: true; value: string } | { ok: false; missing: string[] };

export function interpolateEnv(
  text: string,
  env: Readonly<Record<string, string | undefined>>,
): InterpolationResult {
  const missing: string[] = [];
  const value = text.replace(REFERENCE, (whole, name: string | undefined, fallback?: string) => {
    if (whole === '$${') return '${';
    const found = env[name as string];
    if (found !== undefined && found !== '') return found;
    if (fallback !== undefined) return fallback;
    missing.push(name as string);
    return '';
  });
  return missing.length > 0 ? { ok: false, missing } : { ok: true, value };
}
