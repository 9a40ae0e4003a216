/**
 * Output of the CLI: `--json` prints one TrainerEvent per line on stdout for a parent process;
 * otherwise a progress bar with ETA on a terminal and plain lines elsewhere, on stderr.
 */
import { SingleBar } from 'cli-progress';
import type { TrainerEvent } from '../../common/runFormat';

export interface Output {
  emit(e: TrainerEvent): void;
  log(message: string): void;
  /** A warning: the log as well, at level `warn` (the extension shows it). */
  warn(message: string): void;
  close(): void;
}

export function makeOutput(json: boolean, logFile?: (m: string) => void): Output {
  if (json) {
    return {
      emit: (e) => process.stdout.write(JSON.stringify(e) + '\n'),
      log: (m) => { logFile?.(m); process.stdout.write(JSON.stringify({ event: 'log', level: 'info', message: m }) + '\n'); },
      warn: (m) => { logFile?.(`warning: ${m}`); process.stdout.write(JSON.stringify({ event: 'log', level: 'warn', message: m }) + '\n'); },
      close: () => undefined,
    };
  }
  const tty = process.stderr.isTTY;
  let bar: SingleBar | null = null;
  const stopBar = () => { bar?.stop(); bar = null; };
  const log = (m: string): void => {
    logFile?.(m);
    // Clear the bar's line; it redraws itself on the next update.
    process.stderr.write((bar ? '\r\x1b[K' : '') + m + '\n');
  };
  return {
    emit(e) {
      if (e.event === 'stage-start' && tty) {
        stopBar();
        bar = new SingleBar({ format: `${e.stage.padEnd(14)} [{bar}] {value}/{total} | loss {loss} | {sps} samples/s | ETA {eta_formatted}`, stream: process.stderr, hideCursor: true }, undefined);
        bar.start(e.totalSteps, 0, { loss: '-', sps: '-' });
      } else if (e.event === 'step') {
        const loss = e.loss.total.toFixed(4);
        if (bar) bar.update(e.step, { loss, sps: e.samplesPerSec.toFixed(0) });
        else process.stderr.write(`${e.stage} step ${e.step}/${e.totalSteps} loss ${loss} ${Object.entries(e.loss).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${(v as number).toFixed(4)}`).join(' ')} lr ${e.lr.toExponential(2)} ${e.samplesPerSec.toFixed(0)} samples/s\n`);
      } else if (e.event === 'stage-done') {
        stopBar();
      } else if (e.event === 'error') {
        stopBar();
        process.stderr.write(`error: ${e.message}\n`);
      }
    },
    log,
    // Not `this.log`: the run context passes these functions on detached.
    warn: (m) => log(`warning: ${m}`),
    close: stopBar,
  };
}
