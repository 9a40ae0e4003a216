/**
 * The JSON Schema VS Code gets for kd-experiment.json (package.json `jsonValidation`): the full
 * schema of jsonSchema.ts with every validation keyword taken out, so it only describes (hover,
 * completion of keys and values, defaults) and never judges. The judge is the trainer's own
 * validator, whose errors the extension shows (with "did you mean" and a quick fix); with the
 * full schema each mistake appeared twice in Problems. Enum values stay completable through
 * VS Code's `defaultSnippets`. Pure TypeScript; scripts/write-schema.ts writes it to disk.
 */
import { toJsonSchema, type JsonSchema } from './jsonSchema';

/** Keywords that make the JSON language service report a problem; our validator checks each. */
export const VALIDATION_KEYWORDS = [
  'type', 'enum', 'const', 'additionalProperties', 'required', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
  'minLength', 'maxLength', 'pattern', 'minItems', 'maxItems', 'uniqueItems', 'oneOf', 'anyOf', 'propertyNames',
] as const;

function describeOnly(s: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(s)) {
    if ((VALIDATION_KEYWORDS as readonly string[]).includes(k) || k === 'enumDescriptions') continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v as Record<string, JsonSchema>).map(([name, child]) => [name, describeOnly(child)]));
    } else if (k === 'items') {
      out.items = describeOnly(v as JsonSchema);
    } else {
      out[k] = v;
    }
  }
  if (Array.isArray(s.enum)) {
    const descriptions = (s.enumDescriptions ?? []) as (string | undefined)[];
    // Completion of the allowed values, each with its description, without rejecting others.
    out.defaultSnippets = (s.enum as unknown[]).map((value, i) => ({ label: JSON.stringify(value), body: value, ...(descriptions[i] ? { description: descriptions[i] } : {}) }));
  } else if (s.type === 'boolean') {
    out.defaultSnippets = [true, false].map((value) => ({ label: String(value), body: value }));
  }
  return out;
}

/** The describe-only schema of `kd-experiment.json` for the editor (a fresh object each call). */
export function toEditorJsonSchema(): JsonSchema {
  return describeOnly(toJsonSchema());
}
