/**
 * `llava-kd` command line: world generation, config validation and schema, training runs
 * (run / resume), sweeps (sweep / sweep-cancel / sweep-point), evaluation, single questions,
 * the demo and the paper-table benchmark.
 * Spawned by the VS Code extension with `--json`; never imports `vscode`.
 */
import { Command, Option } from 'commander';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { EXPERIMENT_FILE } from '../../common/runFormat';
import { checkExperimentFile } from '../config/loadFile';
import { formatIssue, PRESET_NAMES, presetConfig, toJsonSchema } from '../config';
import { generateWorld } from '../data';
import { InputError, resumeCommand, runCommand } from './runCommand';
import { askCommand, evalCommand } from './inference';
import { demoCommand } from './demo';
import { benchKdCommand } from '../bench/benchKd';
import { teacherAddCommand, teacherListCommand, teacherRmCommand, teacherTrainCommand } from './teacherCommand';
import { BACKEND_NAMES, type BackendName } from '../config/types';
import { SWEEP_ENGINES, type SweepEngine } from '../../common/sweepFormat';
import { sweepCancelCommand, sweepCommand } from '../sweep/sweepCommand';
import { sweepPointCommand } from '../sweep/pointCommand';

const backendOption = () => new Option('--backend <name>', BACKEND_NAMES.join(' | ')).choices([...BACKEND_NAMES]);

/** Runs an async command and maps errors to exit codes: 2 for bad input, 1 otherwise. */
function action<A extends unknown[]>(fn: (...a: A) => Promise<number> | number) {
  return async (...a: A) => {
    try {
      process.exitCode = await fn(...a);
    } catch (e) {
      const json = process.argv.includes('--json');
      const message = (e as Error).message;
      if (json) process.stdout.write(JSON.stringify({ event: 'error', message }) + '\n');
      else process.stderr.write(`llava-kd: ${message}\n`);
      process.exitCode = e instanceof InputError ? 2 : 1;
    }
  };
}

const program = new Command('llava-kd').description('LLaVA-KD distillation of multimodal LMs with TensorFlow.js').showHelpAfterError();

program.command('init <dir>').description(`write <dir>/${EXPERIMENT_FILE}`)
  .addOption(new Option('--preset <name>', 'preset the experiment is a diff over').choices([...PRESET_NAMES]).default('default'))
  .option('--name <name>', 'experiment name')
  .action(action(async (dir: string, o: { preset: string; name?: string }) => {
    const file = join(resolve(dir), EXPERIMENT_FILE);
    if (existsSync(file)) throw new InputError(`${file} already exists; not overwriting it`);
    mkdirSync(resolve(dir), { recursive: true });
    writeFileSync(file, JSON.stringify({ preset: o.preset, name: o.name ?? o.preset }, null, 2) + '\n', { flag: 'wx' });
    process.stdout.write(file + '\n');
    return 0;
  }));

program.command('world').description('generate the built-in image-text world (LLaVA format)')
  .requiredOption('--out <dir>', 'output folder')
  .addOption(new Option('--preset <name>').choices([...PRESET_NAMES]).default('default'))
  .action(action(async (o: { out: string; preset: string }) => {
    const cfg = presetConfig(o.preset);
    const meta = generateWorld(cfg.data.world, resolve(o.out), { extraTexts: [cfg.data.systemPrompt] });
    process.stdout.write(JSON.stringify(meta, null, 2) + '\n');
    return 0;
  }));

program.command('validate <experiment>').description('check an experiment file').option('--json', 'machine-readable result')
  .action(action(async (file: string, o: { json?: boolean }) => {
    const { errors } = checkExperimentFile(resolve(file));
    if (o.json) process.stdout.write(JSON.stringify({ ok: errors.length === 0, errors }) + '\n');
    else if (errors.length) for (const e of errors) process.stderr.write(`${formatIssue(file, e)} (${e.message})\n`);
    else process.stdout.write(`${file}: ok\n`);
    return errors.length ? 2 : 0;
  }));

program.command('schema').description('print the JSON Schema of experiment files').option('--out <file>')
  .action(action(async (o: { out?: string }) => {
    const text = JSON.stringify(toJsonSchema(), null, 2) + '\n';
    if (o.out) writeFileSync(resolve(o.out), text);
    else process.stdout.write(text);
    return 0;
  }));

program.command('run <experiment>').description('start a new run of an experiment')
  .option('--stages <ids>', "comma-separated stage ids (kd/dft), tracks (teacher, baseline, kd, pretrain) or 'all'")
  .option('--from <runDir...>', 'earlier run folder(s) whose checkpoints feed the first selected stages')
  .addOption(backendOption()).option('--json', 'one JSON event per line on stdout')
  .action(action((file: string, o: { stages?: string; from?: string[]; backend?: BackendName; json?: boolean }) =>
    runCommand({ experiment: file, stages: o.stages, from: o.from, backend: o.backend, json: !!o.json })));

program.command('resume <runDir>').description('continue a stopped or failed run where it left off')
  .addOption(backendOption()).option('--json', 'one JSON event per line on stdout')
  .action(action((dir: string, o: { backend?: BackendName; json?: boolean }) => resumeCommand(dir, !!o.json, o.backend)));

program.command('eval <checkpoint>').description('accuracy of a checkpoint on a LLaVA-format question file')
  .requiredOption('--data <file>').option('--image-folder <dir>').option('--tokenizer <file>')
  .addOption(backendOption().default('auto')).option('--json')
  .action(action((ck: string, o: { data: string; imageFolder?: string; tokenizer?: string; backend: BackendName; json?: boolean }) =>
    evalCommand(ck, o.data, { imageFolder: o.imageFolder, tokenizer: o.tokenizer, backend: o.backend, json: !!o.json })));

program.command('ask <checkpoint>').description('greedy answer to one question about one image')
  .requiredOption('--image <png>').requiredOption('--question <text>').option('--tokenizer <file>')
  .addOption(backendOption().default('auto'))
  .action(action((ck: string, o: { image: string; question: string; tokenizer?: string; backend: BackendName }) =>
    askCommand(ck, o.image, o.question, { tokenizer: o.tokenizer, backend: o.backend })));

program.command('demo').description('built-in world + teacher, baseline and LLaVA-KD student; prints the comparison')
  .option('--dir <dir>', 'experiment folder', 'demo')
  .addOption(new Option('--preset <name>').choices([...PRESET_NAMES]).default('default'))
  .addOption(backendOption())
  .action(action((o: { dir: string; preset: string; backend?: BackendName }) => demoCommand(o.dir, o.preset, o.backend)));

program.command('bench-kd').description("the paper's table at our scale: seeds x (teacher, baseline, LLaVA-KD, stage ablations)")
  .option('--seeds <n>', 'seeds per model', '5').option('--preset <name>', 'base preset', 'default')
  .option('--out <dir>', 'results folder', 'bench/results').option('--work <dir>', 'scratch folder', '.kd-cache/bench')
  .option('--ablations <list>', 'kd-track variants: stage kinds joined by -, a -long suffix (CE-only SFT as long as SFT + DFT), a :preset suffix (that preset\'s loss weights, e.g. dpt-sft-dft:terms-res)', 'pt-sft-dft,dpt-sft,pt-dft,dpt-dft,pt-sft-long,dpt-sft-dft:terms-res,dpt-sft-dft:terms-res-vis')
  .option('--reuse <dir>', 'an earlier bench work folder: keep its finished runs, run only the missing jobs')
  .addOption(backendOption())
  .action(action((o: { seeds: string; preset: string; out: string; work: string; ablations: string; reuse?: string; backend?: BackendName }) => benchKdCommand(o)));

program.command('sweep <experiment>').description('run the points of the experiment file\'s "sweep" section (locally or as a Slurm job array) and follow them; an unchanged definition resumes')
  .addOption(new Option('--engine <engine>', 'where the points run').choices([...SWEEP_ENGINES]).default('local'))
  .option('--parallel <n>', 'points at once (local; the array % limit on Slurm)').option('--dry-run', 'list the points and their count; write nothing')
  .option('--new', 'a new sweep even when one of the same definition exists').option('--poll <ms>', 'milliseconds between checks of the points', '2000')
  .addOption(backendOption()).option('--json', 'one JSON event per line on stdout')
  .action(action((file: string, o: { engine: SweepEngine; parallel?: string; dryRun?: boolean; new?: boolean; poll: string; backend?: BackendName; json?: boolean }) => {
    const parallel = o.parallel === undefined ? undefined : Number(o.parallel);
    if (parallel !== undefined && (!Number.isInteger(parallel) || parallel < 1)) throw new InputError(`--parallel: expected an integer ≥ 1, found ${o.parallel}`);
    return sweepCommand({ experiment: file, engine: o.engine, parallel, dryRun: o.dryRun, fresh: o.new, pollMs: Number(o.poll), json: !!o.json, pointArgs: o.backend ? ['--backend', o.backend] : undefined });
  }));

program.command('sweep-cancel <sweepDir>').description('cancel a sweep: its running points checkpoint and stop, queued ones are removed').option('--json')
  .action(action((dir: string, o: { json?: boolean }) => sweepCancelCommand(dir, !!o.json)));

program.command('sweep-point <sweepDir> <index>').description('run (or resume, or skip when complete) one point of a sweep: what each local child and Slurm array task runs')
  .addOption(backendOption()).option('--json', 'one JSON event per line on stdout')
  .action(action((dir: string, index: string, o: { backend?: BackendName; json?: boolean }) => sweepPointCommand(dir, index, !!o.json, o.backend)));

const teacher = program.command('teacher').description('the teacher store: trained teacher sides (vision encoder + teacher) reused by every run with the same key');
const storeOption = () => new Option('--store <dir>', 'teacher store folder (default: $LLAVA_KD_CACHE_DIR/teachers, else ~/.cache/llava-kd/teachers)');
teacher.command('list').description('stored teachers (cache and packaged), with their state').addOption(storeOption()).option('--json')
  .action(action(async (o: { store?: string; json?: boolean }) => teacherListCommand(o)));
teacher.command('train [experiment]').description('train and store the teacher side of an experiment (or of --preset)')
  .addOption(new Option('--preset <name>', 'train the teacher of a preset (when no experiment is given)').choices([...PRESET_NAMES]))
  .addOption(storeOption()).option('--workers <n>', 'training threads (pin it to reproduce a stored teacher bit for bit)')
  .option('--force', 'train again even when the store has it').addOption(backendOption()).option('--json', 'one JSON event per line on stdout')
  .action(action((file: string | undefined, o: { preset?: string; store?: string; workers?: string; backend?: BackendName; force?: boolean; json?: boolean }) => teacherTrainCommand(file, o)));
teacher.command('add <runDir>').description('store the teacher side of a finished run').addOption(storeOption())
  .action(action(async (dir: string, o: { store?: string }) => teacherAddCommand(dir, o)));
teacher.command('rm [keys...]').description('remove stored teachers (cache only; packaged ones are read-only)').addOption(storeOption()).option('--all', 'every cache entry')
  .action(action(async (keys: string[], o: { store?: string; all?: boolean }) => teacherRmCommand(keys, o)));

program.parseAsync(process.argv);
