// Writes the JSON Schema of kd-experiment.json (generated from src/trainer/config/schema.ts).
// Usage: node --import tsx scripts/write-schema.ts <out.json>
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { toJsonSchema } from '../src/trainer/config/jsonSchema';

const out = process.argv[2];
if (!out) {
  console.error('usage: node --import tsx scripts/write-schema.ts <out.json>');
  process.exit(2);
}
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(toJsonSchema(), null, 2)}\n`);
console.log(`wrote ${out}`);
