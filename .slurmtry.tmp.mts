import { startSlurmCluster } from './test/helpers/slurmCluster.ts';
import { spawnSync } from 'node:child_process';
const c = startSlurmCluster();
console.log('cluster up', c.conf);
const t0 = Date.now();
const r = spawnSync(process.execPath, ['dist/cli.js', 'sweep', '/tmp/sw2/kd-experiment.json', '--engine', 'slurm', '--poll', '1000'], { env: { ...c.env, LLAVA_KD_CACHE_DIR: '/tmp/sw2/cache' }, encoding: 'utf8' });
console.log(r.status, r.stdout, r.stderr.slice(-3000), (Date.now() - t0) / 1000);
c.stop();
