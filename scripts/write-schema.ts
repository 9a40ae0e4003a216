// Writes the JSON Schemas of kd-experiment.json (generated from src/trainer/config/schema.ts): the
// full one (what `llava-kd schema` prints, for other tools) and, when a second path is given, the
// describe-only one VS Code gets through package.json `jsonValidation` (editorSchema.ts).
// Usage: node --import tsx scripts/write-schema.ts <out.json> [<editor-out.json>]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { toEditorJsonSchema } from '../src/trainer/config/editorSchema';
import { toJsonSchema } from '../src/trainer/config/jsonSchema';

const [out, editorOut] = process.argv.slice(2);
if (!out) {
  console.error('usage: node --import tsx scripts/write-schema.ts <out.json> [<editor-out.json>]');
  process.exit(2);
}
for (const [file, schema] of [[out, toJsonSchema()], [editorOut, editorOut ? toEditorJsonSchema() : undefined]] as const) {
  if (!file) continue;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote ${file}`);
}
