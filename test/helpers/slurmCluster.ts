/**
 * A real single-node Slurm cluster for the tests, from Debian's packages: installs `slurm-wlm`
 * and `munge` with apt when missing (as test/e2e/setup.sh does for the browser), starts munged
 * (unless one answers), then slurmctld and slurmd on localhost with their state, spool, pid and
 * log files in a temporary folder (no systemd here: the daemons are started directly), and waits
 * until the node is idle. `stop()` kills what it started. The recipe: ../shared/slurm-notes.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface SlurmCluster {
  /** Environment for every Slurm command and for processes that run them (SLURM_CONF set). */
  env: NodeJS.ProcessEnv;
  dir: string;
  partition: string;
  conf: string;
  stop(): void;
}

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

/** Installs slurm-wlm and munge when a command of theirs is missing; throws with apt's output when that fails. */
export function ensureSlurmInstalled(): void {
  if (['sbatch', 'slurmctld', 'slurmd', 'munged'].every((c) => has(c) || fs.existsSync(`/usr/sbin/${c}`))) return;
  process.stderr.write('[slurm] installing slurm-wlm and munge with apt-get (one time)\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args: string[]) => {
    const r = spawnSync('apt-get', args, { env, encoding: 'utf8', timeout: 900_000 });
    if (r.status !== 0) throw new Error(`apt-get ${args.join(' ')} failed (exit ${r.status}): ${(r.stderr || r.stdout || '').slice(-2000)}`);
  };
  try {
    run(['install', '-y', '--no-install-recommends', 'slurm-wlm', 'munge']);
  } catch {
    run(['update']);
    run(['install', '-y', '--no-install-recommends', 'slurm-wlm', 'munge']);
  }
}

const mungeWorks = (): boolean => spawnSync('sh', ['-c', 'munge -n | unmunge'], { encoding: 'utf8' }).stdout?.includes('Success') ?? false;

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function waitFor(what: string, ok: () => boolean, timeoutMs: number, log?: string): void {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`slurm test cluster: timed out waiting for ${what}${log && fs.existsSync(log) ? `\n${fs.readFileSync(log, 'utf8').slice(-3000)}` : ''}`);
    sleepMs(250);
  }
}

/**
 * Starts the cluster. `cpus` CPUs on the one node (default: this machine's), a partition `debug`.
 * `minJobAge`: seconds slurmctld keeps ended jobs (scontrol shows them).
 */
export function startSlurmCluster(o: { cpus?: number; minJobAge?: number } = {}): SlurmCluster {
  ensureSlurmInstalled();
  let startedMunge = false;
  if (!mungeWorks()) {
    fs.mkdirSync('/run/munge', { recursive: true });
    spawnSync('chown', ['munge:munge', '/run/munge']);
    const r = spawnSync('runuser', ['-u', 'munge', '--', '/usr/sbin/munged'], { encoding: 'utf8' });
    if (r.status !== 0) spawnSync('/usr/sbin/munged', ['--force'], { encoding: 'utf8' });
    waitFor('munged', mungeWorks, 10_000);
    startedMunge = true;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'llava-kd-slurm-'));
  for (const d of ['state', 'spool', 'log']) fs.mkdirSync(path.join(dir, d));
  const conf = path.join(dir, 'slurm.conf');
  const cpus = o.cpus ?? os.cpus().length;
  const mem = Math.floor(os.totalmem() / 1048576 * 0.8);
  fs.writeFileSync(conf, [
    'ClusterName=llavakdtest', 'SlurmctldHost=localhost', 'AuthType=auth/munge',
    'ProctrackType=proctrack/linuxproc', 'TaskPlugin=task/none', 'SchedulerType=sched/backfill',
    'SelectType=select/cons_tres', 'SelectTypeParameters=CR_Core', 'SlurmUser=root', 'ReturnToService=2',
    `SlurmctldPidFile=${dir}/slurmctld.pid`, `SlurmdPidFile=${dir}/slurmd.pid`,
    `StateSaveLocation=${dir}/state`, `SlurmdSpoolDir=${dir}/spool`,
    `SlurmctldLogFile=${dir}/log/slurmctld.log`, `SlurmdLogFile=${dir}/log/slurmd.log`,
    'JobCompType=jobcomp/filetxt', `JobCompLoc=${dir}/log/jobcomp.log`,
    `MinJobAge=${o.minJobAge ?? 600}`, 'KillWait=30', 'SchedulerParameters=sched_interval=1',
    `NodeName=localhost NodeHostname=${os.hostname()} CPUs=${cpus} RealMemory=${mem} State=UNKNOWN`,
    'PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP',
  ].join('\n') + '\n');
  const env = { ...process.env, SLURM_CONF: conf };
  execFileSync('/usr/sbin/slurmctld', [], { env });
  execFileSync('/usr/sbin/slurmd', [], { env });
  const idle = () => {
    const r = spawnSync('sinfo', ['-h', '-o', '%T'], { env, encoding: 'utf8' });
    return r.status === 0 && /idle/.test(r.stdout);
  };
  try {
    waitFor('the node to be idle (sinfo)', idle, 60_000, `${dir}/log/slurmctld.log`);
  } catch (e) {
    stopDaemons(dir, false);
    throw e;
  }
  return { env, dir, conf, partition: 'debug', stop: () => stopDaemons(dir, startedMunge) };
}

function stopDaemons(dir: string, munge: boolean): void {
  for (const f of ['slurmd.pid', 'slurmctld.pid']) {
    try {
      process.kill(Number(fs.readFileSync(path.join(dir, f), 'utf8').trim()), 'SIGTERM');
    } catch { /* not running */ }
  }
  if (munge) spawnSync('sh', ['-c', 'kill $(cat /run/munge/munged.pid 2>/dev/null) 2>/dev/null']);
  sleepMs(500);
}
