/**
 * `scopegate schema`: the configuration's JSON Schema (what config/scopegate.schema.json holds),
 * or with `--markdown` the README's configuration reference, both generated from the schema
 * that validates configs.
 */
import { configJsonSchemaText, configReferenceMarkdown } from '../../config/reference.js';

export function schemaOutput(options: { markdown?: boolean | undefined }): string {
  return options.markdown ? configReferenceMarkdown() : configJsonSchemaText();
}
