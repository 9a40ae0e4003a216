// Tests of src/trainer/config/editorSchema.ts: the schema VS Code gets describes (descriptions,
// defaults, completable enum values) but rejects nothing, so each config mistake is reported once,
// by the trainer's validator (checked with ajv, independently of VS Code).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Ajv from 'ajv';
import { VALIDATION_KEYWORDS, toEditorJsonSchema, toJsonSchema, validateExperiment, type JsonSchema } from '../src/trainer/config';

/** Calls `visit` on every (sub)schema reachable through properties and items. */
function walk(s: JsonSchema, path: string, visit: (path: string, s: JsonSchema) => void): void {
  visit(path, s);
  for (const [k, c] of Object.entries((s.properties ?? {}) as Record<string, JsonSchema>)) walk(c, path ? `${path}.${k}` : k, visit);
  if (s.items) walk(s.items as JsonSchema, `${path}[]`, visit);
}

test('editor schema: the files the full schema rejects (our validator reports them) pass; presets and diffs too', () => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  const full = ajv.compile(toJsonSchema());
  const editor = ajv.compile(toEditorJsonSchema());
  const bad: unknown[] = [
    { preset: 'nope' },
    { stages: { dft: { optimizer: { lrr: 1 } } } },
    { stages: { sft: { batchSize: '16' } } },
    { stages: { sft: { batchSize: 0 } } },
    { distill: { divergence: 'kl' } },
    { pipeline: { kd: ['dpt', 'dpt'] } },
    { pipeline: { kd: ['vision'] } },
    { stages: { pt: { warmupRatio: 1 } } },
    { name: '' },
    { stages: 3 },
  ];
  for (const file of bad) {
    assert.equal(full(file), false, `the full schema rejects ${JSON.stringify(file)}`);
    assert.ok(editor(file), `the editor schema accepts ${JSON.stringify(file)}: ${ajv.errorsText(editor.errors)}`);
    assert.notDeepEqual(validateExperiment(file, 'x').errors, [], `our validator reports ${JSON.stringify(file)}`);
  }
  walk(toEditorJsonSchema(), '', (path, s) => {
    for (const k of VALIDATION_KEYWORDS) assert.ok(!(k in s), `${path || '(root)'} keeps the validation keyword ${k}`);
  });
});

test('editor schema: hover and completion stay (descriptions, defaults, enum values with their descriptions)', () => {
  const full = toJsonSchema();
  const editor = toEditorJsonSchema();
  const fullAt = new Map<string, JsonSchema>();
  walk(full, '', (p, s) => fullAt.set(p, s));
  let enums = 0;
  walk(editor, '', (p, s) => {
    const f = fullAt.get(p);
    assert.ok(f, `${p} is in the full schema`);
    assert.equal(s.description, f.description, `${p}: description`);
    assert.equal(s.markdownDescription, f.markdownDescription, `${p}: markdownDescription`);
    assert.deepEqual(s.default, f.default, `${p}: default`);
    assert.deepEqual(Object.keys((s.properties ?? {}) as object), Object.keys((f.properties ?? {}) as object), `${p}: same keys to complete`);
    if (Array.isArray(f.enum)) {
      enums++;
      const snippets = s.defaultSnippets as { label: string; body: unknown; description?: string }[];
      assert.deepEqual(snippets.map((x) => x.body), f.enum, `${p}: every allowed value is offered`);
      assert.deepEqual(snippets.map((x) => x.description), f.enumDescriptions ?? f.enum.map(() => undefined), `${p}: with its description`);
    }
  });
  assert.ok(enums >= 8, `only ${enums} enums`);
  const divergence = (((editor.properties as any).distill.properties.divergence) as JsonSchema).defaultSnippets as { label: string }[];
  assert.ok(divergence.some((x) => x.label === '"forward_kl"'));
});
