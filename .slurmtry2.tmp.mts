import { startSlurmCluster } from './test/helpers/slurmCluster.ts';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
const c = startSlurmCluster();
fs.writeFileSync('/tmp/arr.sh', '#!/bin/bash\n#SBATCH --array=0-3%2\n#SBATCH --output=/tmp/arr-%A_%a.out\nsleep 3\n');
const id = execFileSync('sbatch', ['--parsable', '/tmp/arr.sh'], { env: c.env, encoding: 'utf8' });
console.log('SBATCH', JSON.stringify(id));
execFileSync('sleep', ['1.5']);
console.log('SQUEUE\n' + execFileSync('squeue', ['-h', '-r', '-j', id.trim(), '-o', '%i|%T|%M|%R'], { env: c.env, encoding: 'utf8' }));
execFileSync('scancel', [`${id.trim()}_1`], { env: c.env });
execFileSync('sleep', ['8']);
console.log('SCONTROL\n' + execFileSync('scontrol', ['show', 'job', '-o', id.trim()], { env: c.env, encoding: 'utf8' }));
try { console.log('SACCT\n' + execFileSync('sacct', ['-n', '-P', '-X', '-j', id.trim(), '-o', 'JobID,State,ExitCode,Elapsed'], { env: c.env, encoding: 'utf8' })); } catch (e) { console.log('SACCT ERR', (e as Error).message); }
try { console.log(execFileSync('squeue', ['-h', '-r', '-j', id.trim(), '-o', '%i|%T|%M|%R'], { env: c.env, encoding: 'utf8' })); } catch (e) { console.log('SQUEUE ERR', (e as Error).message); }
c.stop();
