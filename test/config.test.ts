/**
 * Tests of the experiment-config system (src/trainer/config): presets, deep merge, schema and
 * semantic validation with their messages, JSON text parsing with line/column, the JSON Schema
 * (checked independently with ajv), and config flattening/diffing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import { checkExperimentFile, loadExperimentFile } from '../src/trainer/config/loadFile';
import {
  ConfigError, PRESET_NAMES, checkExperimentText, deepMerge, diffConfigs, diffManyConfigs, flattenConfig, parseConfigText,
  presetConfig, resolveConfig, toJsonSchema, validateExperiment, visualTokenCount, type ConfigIssue, type JsonSchema,
} from '../src/trainer/config';

function errorsOf(raw: unknown, source = 'kd.json'): ConfigError {
  try {
    resolveConfig(raw, source);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected resolveConfig to throw');
}

test('unknown key: error names the path and suggests the closest key', () => {
  const e = errorsOf({ preset: 'tiny', stages: { dft: { optimizer: { lrr: 1e-3 } } } });
  assert.equal(e.errors.length, 1);
  assert.equal(e.errors[0].path, 'stages.dft.optimizer.lrr');
  assert.match(e.errors[0].message, /did you mean "lr"\?/);
  assert.equal(e.message, 'kd.json: stages.dft.optimizer.lrr: expected a known key (did you mean "lr"?), found unknown key "lrr"');

  // snake_case and a key one level too high are both recognised
  assert.match(errorsOf({ stages: { sft: { batch_size: 8 } } }).errors[0].expected, /"batchSize"/);
  assert.match(errorsOf({ stages: { sft: { lr: 1e-4 } } }).errors[0].expected, /"optimizer\.lr"/);
  // nothing close: the allowed keys are listed
  const far = errorsOf({ eval: { zzzzzzzz: 1 } }).errors[0];
  assert.equal(far.expected, 'one of the keys valQuestions, samples, maxNewTokens');
});

test('wrong type, out of range and bad enum name path, expected and found', () => {
  const e = errorsOf({ stages: { sft: { batchSize: '16' } }, distill: { temperature: 0, divergence: 'kl' }, vision: { featureLayer: 1.5 } }, 'exp/kd-experiment.json');
  const byPath = new Map(e.errors.map((x) => [x.path, x]));
  assert.deepEqual([...byPath.keys()].sort(), ['distill.divergence', 'distill.temperature', 'stages.sft.batchSize', 'vision.featureLayer']);
  assert.equal(byPath.get('stages.sft.batchSize')!.expected, 'integer ≥ 1');
  assert.equal(byPath.get('stages.sft.batchSize')!.found, '"16" (a string)');
  assert.equal(byPath.get('distill.temperature')!.expected, 'number > 0');
  assert.equal(byPath.get('distill.temperature')!.found, '0');
  assert.equal(byPath.get('distill.divergence')!.expected, 'one of "forward_kl", "reverse_kl", "js", "tv", "skew_forward_kl", "skew_reverse_kl"');
  assert.equal(byPath.get('vision.featureLayer')!.found, '1.5');
  // the message lists every problem, one per line
  assert.match(e.message, /^exp\/kd-experiment\.json: 4 problems/);
  assert.ok(e.message.includes('exp/kd-experiment.json: stages.sft.batchSize: expected integer ≥ 1, found "16" (a string)'));
  assert.ok(e.message.includes('exp/kd-experiment.json: distill.temperature: expected number > 0, found 0'));
  // ranges with both ends, and objects replaced by scalars
  assert.equal(errorsOf({ stages: { pt: { warmupRatio: 1 } } }).errors[0].expected, 'number in [0, 1)');
  assert.equal(errorsOf({ data: { world: { maxObjects: 5 } } }).errors[0].expected, 'integer in [1, 4]');
  const scalar = errorsOf({ vision: 5 }).errors[0];
  assert.deepEqual([scalar.path, scalar.expected, scalar.found], ['vision', 'an object', '5 (a number)']);
  assert.equal(errorsOf([1, 2]).errors[0].expected, 'a JSON object (a diff over a preset)');
});

test('unknown preset lists the presets and suggests the closest', () => {
  const e = errorsOf({ preset: 'tinyy' });
  assert.equal(e.errors.length, 1);
  assert.equal(e.errors[0].path, 'preset');
  assert.equal(e.errors[0].found, '"tinyy"');
  for (const n of ['default', 'tiny', 'ablation-dpt-sft', 'terms-res-vis']) assert.ok(e.errors[0].expected.includes(`"${n}"`), n);
  assert.match(e.errors[0].message, /did you mean "tiny"/);
  // other problems are still reported against the default preset
  assert.equal(errorsOf({ preset: 'nope', seed: -1 }).errors.length, 2);
});

test('deep merge: objects merge, arrays replace, inputs untouched', () => {
  const cfg = resolveConfig({ preset: 'tiny', name: 'my exp', pipeline: { kd: ['pt', 'dft'] }, stages: { dft: { loss: { rel: 1 } } } }, 'kd.json');
  assert.deepEqual(cfg.pipeline.kd, ['pt', 'dft']); // element-wise merge would give ["pt","dft","dft"]
  assert.deepEqual(cfg.stages.dft.loss, { ce: 1, res: 1, vis: 1, rel: 1 });
  assert.equal(cfg.stages.dft.steps, 10); // from tiny
  assert.equal(cfg.stages.dft.optimizer.lr, 5e-4); // from default, under tiny
  assert.equal(cfg.stages.dpt.loss.rel, 0.5);
  assert.equal(cfg.name, 'my exp');
  assert.equal(cfg.preset, 'tiny');
  assert.equal(resolveConfig({ preset: 'tiny' }, 'x').name, 'tiny');

  const base = { a: { b: 1, c: [1, 2, 3] }, d: 1 };
  const diff = { a: { c: [9] }, e: 2 };
  assert.deepEqual(deepMerge(base, diff), { a: { b: 1, c: [9] }, d: 1, e: 2 });
  assert.deepEqual(base, { a: { b: 1, c: [1, 2, 3] }, d: 1 });
  // a __proto__ key is data, never the prototype
  const evil = JSON.parse('{"__proto__": {"polluted": true}}') as unknown;
  const merged = deepMerge({}, evil) as Record<string, unknown>;
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.ok(Object.prototype.hasOwnProperty.call(merged, '__proto__'));
  assert.equal(errorsOf(evil).errors[0].path, '__proto__');
  assert.equal(errorsOf({ 'stages.dft': {} }).errors[0].path, '["stages.dft"]');
});

test('every preset resolves and passes schema and semantic checks', () => {
  assert.ok(PRESET_NAMES.length >= 13);
  for (const name of PRESET_NAMES) {
    const r = validateExperiment({ preset: name }, `${name}.json`);
    assert.deepEqual(r.errors, [], name);
    assert.equal(r.config?.preset, name);
  }
  const d = presetConfig('default');
  // the numbers of the brief
  assert.equal(visualTokenCount(d), 9);
  assert.deepEqual([d.data.world.imageSize, d.data.world.trainImages, d.data.world.valImages, d.data.world.testImages], [48, 30000, 200, 400]);
  assert.deepEqual([d.teacher.lm.dim, d.teacher.lm.layers, d.student.lm.dim, d.student.lm.layers], [128, 3, 48, 1]);
  assert.deepEqual(d.stages.dpt.loss, { ce: 1, res: 1, vis: 1, rel: 0.5 });
  assert.deepEqual(d.stages.sft.loss, { ce: 1, res: 0, vis: 0, rel: 0 });
  assert.deepEqual([d.stages.vision.steps, d.stages.dft.steps, d.stages.dft.optimizer.lr], [4000, 400, 5e-4]);
  assert.deepEqual(d.pipeline, { teacher: ['pt', 'sft'], baseline: ['pt', 'sft'], kd: ['dpt', 'sft', 'dft'], pretrain: true });
  assert.deepEqual([d.teacher.seed, d.teacher.lmPretrain, d.teacher.cache, d.teacher.stages.sft.steps, d.teacher.stages.sft.batchSize, d.vision.pretrainHead], [0, false, 'reuse', 4000, 32, 'token']);

  const t = presetConfig('tiny');
  for (const s of Object.values(t.stages)) {
    assert.ok(s.steps >= 6 && s.steps <= 10);
    assert.equal(s.batchSize, 4);
  }
  assert.ok(t.teacher.lm.dim > t.student.lm.dim);
  assert.deepEqual(presetConfig('ablation-pt-dft').pipeline.kd, ['pt', 'dft']);
  assert.deepEqual(presetConfig('ablation-pt-sft').pipeline.kd, presetConfig('ablation-pt-sft').pipeline.baseline);
  assert.deepEqual(presetConfig('terms-res').stages.dft.loss, { ce: 1, res: 1, vis: 0, rel: 0 });
  assert.deepEqual(presetConfig('terms-res-vis').stages.dpt.loss, { ce: 1, res: 1, vis: 1, rel: 0 });
  assert.equal(presetConfig('code-weights').stages.dft.loss.rel, 1);
  // presetConfig returns independent copies
  presetConfig('default').stages.dft.loss.rel = 99;
  assert.equal(presetConfig('default').stages.dft.loss.rel, 0.5);
});

function pathsOf(errors: ConfigIssue[]): string[] {
  return errors.map((e) => e.path);
}

test('semantic errors: shapes, pipeline, loss weights, files', () => {
  const r = validateExperiment({ preset: 'tiny', vision: { patchSize: 5 } }, 'kd.json');
  assert.equal(r.config, undefined);
  assert.deepEqual(pathsOf(r.errors), ['vision.patchSize']);
  assert.equal(r.errors[0].expected, 'a divisor of vision.imageSize (48)');

  // 48/4 = 12 -> Np = 144 visual tokens do not fit in maxLength 64
  assert.deepEqual(pathsOf(validateExperiment({ vision: { patchSize: 4 } }, 'x').errors), ['data.maxLength']);
  // 128 px: differs from the 48 px world, and (128/16)² = 64 visual tokens fill maxLength 64
  assert.deepEqual(pathsOf(validateExperiment({ vision: { imageSize: 128 } }, 'x').errors), ['vision.imageSize', 'data.maxLength']);
  assert.deepEqual(pathsOf(validateExperiment({ vision: { imageSize: 32 }, data: { world: { imageSize: 32 } } }, 'x').errors), []);
  // depth 2: valid feature layers are -2..1
  assert.deepEqual(pathsOf(validateExperiment({ preset: 'tiny', vision: { featureLayer: -3 } }, 'x').errors), ['vision.featureLayer']);
  assert.deepEqual(validateExperiment({ preset: 'tiny', vision: { featureLayer: 1 } }, 'x').errors, []);
  // 48 / 4 = 12 is even but 48 / 8 = 6 ok; 40 / 4 = 10 ok; 36 / 4 = 9 odd -> rotary needs even
  assert.deepEqual(pathsOf(validateExperiment({ student: { lm: { dim: 36, heads: 4 } } }, 'x').errors), ['student.lm.dim']);
  assert.deepEqual(pathsOf(validateExperiment({ teacher: { lm: { heads: 5 } } }, 'x').errors), ['teacher.lm.heads']);

  assert.deepEqual(pathsOf(validateExperiment({ pipeline: { teacher: [] } }, 'x').errors), ['pipeline.teacher']);
  assert.deepEqual(validateExperiment({ pipeline: { teacher: [] } }, 'x', { hasFromRun: true }).errors, []);
  assert.deepEqual(validateExperiment({ pipeline: { teacher: [], kd: ['pt', 'sft'] } }, 'x').errors, []);
  assert.deepEqual(pathsOf(validateExperiment({ pipeline: { teacher: ['sft', 'pt'] } }, 'x').errors), ['pipeline.teacher[1]', 'pipeline.teacher']);
  assert.deepEqual(pathsOf(validateExperiment({ pipeline: { baseline: ['pt', 'dft'], kd: [] } }, 'x').errors), ['pipeline.kd', 'pipeline.baseline[1]']);
  assert.deepEqual(pathsOf(validateExperiment({ stages: { sft: { loss: { res: 1 } } } }, 'x').errors), ['stages.sft.loss.res']);
  assert.deepEqual(pathsOf(validateExperiment({ stages: { dft: { loss: { ce: 0, res: 0, vis: 0, rel: 0 } } } }, 'x').errors), ['stages.dft.loss']);
  // schema duplicates in a track
  assert.deepEqual(pathsOf(validateExperiment({ pipeline: { kd: ['dpt', 'dpt'] } }, 'x').errors), ['pipeline.kd[1]']);

  const llava = { data: { source: 'llava', captions: 'c.json', instructions: 'i.json', val: 'v.json', test: 't.json', imageFolder: 'img', tokenizer: '' } };
  const present = new Set(['c.json', 'i.json', 'v.json', 'img']);
  const lr = validateExperiment(llava, 'x', { fileExists: (p) => present.has(p) });
  assert.deepEqual(pathsOf(lr.errors), ['data.test', 'data.tokenizer']);
  assert.equal(lr.errors[0].found, '"t.json" (missing)');
});

const SAMPLE = `{
  "preset": "tiny",
  "name": "my exp",
  "pipeline": {
    "kd": ["dpt", "dft"]
  },
  "stages": {
    "dft": {
      "loss": { "rel": "one" }
    }
  }
}
`;

test('JSON paths map to lines and columns of the text', () => {
  const p = parseConfigText(SAMPLE, 'kd.json');
  assert.deepEqual(p.value, JSON.parse(SAMPLE));
  const rel = p.locate('stages.dft.loss.rel')!;
  assert.deepEqual([rel.key!.line, rel.key!.column], [9, 17]);
  assert.deepEqual([rel.value.line, rel.value.column, rel.value.endColumn], [9, 24, 29]);
  const kd1 = p.locate('pipeline.kd[1]')!;
  assert.deepEqual([kd1.value.line, kd1.value.column], [5, 19]);
  assert.equal(p.locate('stages.sft'), undefined);
  // a path not in the file falls back to its nearest ancestor in the file, or to a related path
  assert.deepEqual(p.positionOf('stages.dft.optimizer.lr'), { line: 8, column: 5 });
  assert.deepEqual(p.positionOf('vision.patchSize', ['name']), { line: 3, column: 3 });
  assert.equal(p.positionOf('vision.patchSize'), undefined);

  const r = checkExperimentText(SAMPLE, 'kd.json');
  assert.equal(r.errors.length, 1);
  assert.deepEqual([r.errors[0].path, r.errors[0].line, r.errors[0].column], ['stages.dft.loss.rel', 9, 17]);
  const sem = checkExperimentText(SAMPLE.replace('"one"', '1').replace('"name": "my exp"', '"vision": { "patchSize": 7 }'), 'kd.json');
  assert.deepEqual([sem.errors[0].path, sem.errors[0].line], ['vision.patchSize', 3]);
});

test('JSON syntax errors name line and column; duplicate keys are errors', () => {
  const text = '{\n  "preset": "tiny"\n  "name": "x"\n}\n';
  assert.throws(() => parseConfigText(text, 'kd.json'), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.deepEqual([e.errors[0].line, e.errors[0].column], [3, 3]);
    assert.equal(e.errors[0].expected, '","');
    assert.match(e.message, /^kd\.json:3:3: \(file\): expected ",", found "name"$/);
    assert.match(e.errors[0].message, /line 3, column 3/);
    return true;
  });
  const r = checkExperimentText('{ "seed": 1, }', 'kd.json');
  assert.deepEqual([r.errors[0].line, r.errors[0].column], [1, 14]);
  assert.match(checkExperimentText('// hi\n{}', 'kd.json').errors[0].expected, /comments are not allowed/);
  assert.equal(checkExperimentText('', 'kd.json').errors[0].found, 'end of file');

  const dup = checkExperimentText('{\n  "seed": 1,\n  "seed": 2\n}', 'kd.json').errors;
  assert.deepEqual([dup[0].path, dup[0].line], ['seed', 3]);
  assert.match(dup[0].found, /first is at line 2/);
});

function walkLeaves(s: JsonSchema, path: string, visit: (path: string, s: JsonSchema) => void): void {
  const props = s.properties as Record<string, JsonSchema> | undefined;
  if (s.type === 'object' && props) {
    for (const [k, c] of Object.entries(props)) walkLeaves(c, path ? `${path}.${k}` : k, visit);
  } else {
    visit(path, s);
  }
}

test('JSON Schema: every leaf is described; ajv accepts presets and diffs and rejects bad files', () => {
  const schema = toJsonSchema();
  let leaves = 0;
  walkLeaves(schema, '', (path, s) => {
    leaves++;
    assert.equal(typeof s.description, 'string', `${path} has no description`);
    assert.ok((s.description as string).length > 10, `${path}: description too short`);
    // The sweep and slurm sections are not config fields (no preset value): no defaults there.
    if (path !== '$schema' && !/^(sweep|slurm)\./.test(path)) assert.ok('default' in s, `${path} has no default`);
  });
  assert.ok(leaves > 80, `only ${leaves} leaves`);
  const relDesc = ((((schema.properties as any).stages.properties.dft.properties.loss.properties.rel) as JsonSchema).description) as string;
  assert.ok(relDesc.includes('1 − cos(vec(Z_S Z_Sᵀ), vec(Z_T Z_Tᵀ))'));
  assert.equal((schema.properties as any).stages.properties.dft.properties.loss.required, undefined);

  const ajv = new Ajv({ allErrors: true });
  ajv.addVocabulary(['markdownDescription', 'enumDescriptions', 'markdownEnumDescriptions']);
  const validate = ajv.compile(schema);
  for (const name of PRESET_NAMES) assert.ok(validate(presetConfig(name)), `${name}: ${ajv.errorsText(validate.errors)}`);
  assert.ok(validate({ $schema: './kd-experiment.schema.json', preset: 'tiny', name: 'my exp', stages: { dft: { loss: { rel: 1 } } } }));
  assert.ok(validate({}));
  assert.ok(validate({ preset: 'tiny', sweep: { name: 'a', grid: { 'distill.temperature': [1, 2] }, random: { samples: 2, space: { 'stages.dft.optimizer.lr': { logUniform: [1e-4, 1e-2] } } }, seeds: 3, variants: { main: {}, p: 'paper-weights' }, startFrom: { p: { variant: 'main', stages: 'kd' } }, parallel: 2 }, slurm: { partition: 'debug', time: '01:00:00', cpusPerTask: 2, mem: '4G', extra: ['--qos=x'] } }), ajv.errorsText(validate.errors));

  const bad: [unknown, string][] = [
    [{ preset: 'nope' }, '/preset'],
    [{ stages: { dft: { optimizer: { lrr: 1 } } } }, '/stages/dft/optimizer'],
    [{ stages: { sft: { batchSize: '16' } } }, '/stages/sft/batchSize'],
    [{ stages: { sft: { batchSize: 0 } } }, '/stages/sft/batchSize'],
    [{ distill: { divergence: 'kl' } }, '/distill/divergence'],
    [{ pipeline: { kd: ['dpt', 'dpt'] } }, '/pipeline/kd'],
    [{ pipeline: { kd: ['vision'] } }, '/pipeline/kd/0'],
    [{ stages: { pt: { warmupRatio: 1 } } }, '/stages/pt/warmupRatio'],
    [{ sweep: { gird: {} } }, '/sweep'],
    [{ sweep: { seeds: 0 } }, '/sweep/seeds'],
    [{ slurm: { extra: ['-q x'] } }, '/slurm/extra/0'],
  ];
  for (const [file, where] of bad) {
    assert.equal(validate(file), false, JSON.stringify(file));
    assert.ok(validate.errors!.some((e) => e.instancePath === where), `${JSON.stringify(file)}: ${ajv.errorsText(validate.errors)}`);
    // our own validator rejects the same files
    assert.notDeepEqual(validateExperiment(file, 'x').errors, [], JSON.stringify(file));
  }
});

test('flattenConfig and diffConfigs', () => {
  assert.deepEqual(flattenConfig({ a: { b: 1, c: { d: true } }, e: ['x', 'y'], f: 'z', g: null }), {
    'a.b': 1, 'a.c.d': true, e: '["x","y"]', f: 'z', g: 'null',
  });
  const flat = flattenConfig(presetConfig('default'));
  assert.equal(flat['stages.dft.loss.rel'], 0.5);
  assert.equal(flat['pipeline.kd'], '["dpt","sft","dft"]');

  const diff = diffConfigs({ a: 1, b: { c: 2, d: 3 }, k: [1] }, { a: 1, b: { c: 5 }, e: 4, k: [1] });
  assert.deepEqual(diff, [
    { key: 'a', a: 1, b: 1, status: 'same' },
    { key: 'b.c', a: 2, b: 5, status: 'changed' },
    { key: 'b.d', a: 3, status: 'removed' },
    { key: 'k', a: '[1]', b: '[1]', status: 'same' },
    { key: 'e', b: 4, status: 'added' },
  ]);
  const changed = diffConfigs(presetConfig('default'), presetConfig('terms-res')).filter((d) => d.status !== 'same').map((d) => d.key);
  assert.deepEqual(changed, ['preset', 'name', 'stages.dpt.loss.vis', 'stages.dpt.loss.rel', 'stages.dft.loss.vis', 'stages.dft.loss.rel']);
  const many = diffManyConfigs([{ x: 1, y: 2 }, { x: 1, y: 3 }, { x: 1 }]);
  assert.deepEqual(many, [{ key: 'x', values: [1, 1, 1], differs: false }, { key: 'y', values: [2, 3, undefined], differs: true }]);
});

test('loadExperimentFile reads a file and checks data files relative to it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kdcfg-'));
  try {
    const file = join(dir, 'kd-experiment.json');
    mkdirSync(join(dir, 'data', 'images'), { recursive: true });
    for (const f of ['captions.json', 'instr.json', 'val.json', 'tokenizer.json']) writeFileSync(join(dir, 'data', f), '[]');
    const data = { source: 'llava', captions: 'data/captions.json', instructions: 'data/instr.json', val: 'data/val.json', test: 'data/test.json', imageFolder: 'data/images', tokenizer: 'data/tokenizer.json' };
    writeFileSync(file, JSON.stringify({ preset: 'tiny', data }, null, 2));
    const r = checkExperimentFile(file);
    assert.deepEqual(r.errors.map((e) => [e.path, e.line]), [['data.test', 8]]);
    assert.throws(() => loadExperimentFile(file), (e: unknown) => e instanceof ConfigError && e.message.startsWith(`${file}:8:5: data.test: expected an existing file`));
    writeFileSync(join(dir, 'data', 'test.json'), '[]');
    assert.equal(loadExperimentFile(file).data.source, 'llava');
    assert.match(checkExperimentFile(join(dir, 'missing.json')).errors[0].found, /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
