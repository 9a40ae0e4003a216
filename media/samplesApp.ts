/**
 * Samples webview app (bundled to dist/media/samplesApp.js): one row per sample question with
 * its image, question and ground truth, and per run an answer card (teacher answer, student
 * answer with the words differing from the ground truth marked, correct/incorrect badge). A
 * step scrubber moves every card through the evaluations; filters by question type and result.
 * Missing images show a placeholder.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import type { HostMessage, RunInfo, SampleView } from '../src/common/messages';
import { clear, codicon, h, setDebug, showCommonState, showNoRuns } from './lib/dom';
import { diffWords } from './lib/wordDiff';
import { throttled } from './lib/throttle';
import { connect, loadState, post, saveState } from './lib/vscodeApi';

interface RunSamples {
  info: RunInfo;
  samples: SampleView[];
}

interface Ui {
  step: number | null;
  type: string;
  result: 'all' | 'correct' | 'incorrect';
  [k: string]: unknown;
}

const saved = loadState();
const ui: Ui = { step: null, type: 'all', result: 'all', ...(saved.ui as Partial<Ui>) };
let runs: RunSamples[] = [];
const root = document.getElementById('app')!;
const images = { loaded: 0, failed: 0 };
/** Image URIs known to be missing (so re-renders show the placeholder at once). */
const failedImages = new Set<string>();

function persist(): void {
  saveState({ sources: runs.map((r) => r.info.key), ui });
}

/** Distinct global steps of all runs' evaluations, ascending. */
function allSteps(): number[] {
  const s = new Set<number>();
  for (const r of runs) for (const x of r.samples) s.add(x.globalStep);
  return [...s].sort((a, b) => a - b);
}

/** For one run: the latest eval step at or before `step` (or its first eval when none is). */
function stepFor(r: RunSamples, step: number): number | undefined {
  let best: number | undefined;
  let first: number | undefined;
  for (const x of r.samples) {
    if (first === undefined || x.globalStep < first) first = x.globalStep;
    if (x.globalStep <= step && (best === undefined || x.globalStep > best)) best = x.globalStep;
  }
  return best ?? first;
}

function placeholder(s: SampleView): HTMLElement {
  const name = s.image.split(/[\\/]/).pop() ?? s.image;
  return h('div', { class: 'image-placeholder', role: 'img', 'aria-label': `Image not found: ${name}`, title: s.image }, codicon('file-media'), h('span', {}, `Image not found: ${name}`));
}

function imageEl(s: SampleView): HTMLElement {
  if (!s.imageUri || failedImages.has(s.imageUri)) return placeholder(s);
  const img = h('img', { src: s.imageUri, alt: `Image of sample ${s.id}`, class: 'sample-image', loading: 'lazy', width: 96, height: 96 }) as HTMLImageElement;
  img.addEventListener('load', () => {
    images.loaded++;
    writeDebug();
  }, { once: true });
  img.addEventListener('error', () => {
    images.failed++;
    failedImages.add(s.imageUri);
    img.replaceWith(placeholder(s));
    writeDebug();
  }, { once: true });
  return img;
}

/** A correct / incorrect badge. */
function verdict(ok: boolean, who: string): HTMLElement {
  return h('span', { class: `badge ${ok ? 'correct' : 'incorrect'}`, 'aria-label': `${who} ${ok ? 'correct' : 'incorrect'}` }, codicon(ok ? 'check' : 'close'), ok ? ' correct' : ' incorrect');
}

function answerCard(r: RunSamples, s: SampleView | undefined): HTMLElement {
  const head = h('div', { class: 'answer-head' }, h('span', { class: 'run-name', title: r.info.key }, r.info.runId));
  if (!s) return h('div', { class: 'answer-card missing' }, head, h('p', { class: 'muted' }, 'Not sampled at this step.'));
  // The model trained in this stage: the teacher in the teacher's own stages, else the student.
  const trained = s.stage.startsWith('teacher/') ? 'Teacher' : 'Student';
  head.append(h('span', { class: 'muted' }, ` ${s.stage} step ${s.step}`));
  const answer = h('p', { class: 'student-answer', 'aria-label': `${trained} answer` });
  const segs = diffWords(s.answer, s.groundTruth);
  if (!segs.length) answer.append(h('em', { class: 'muted' }, '(empty answer)'));
  for (const seg of segs) answer.append(seg.same ? seg.text : h('mark', { class: 'diff-word', title: 'differs from the ground truth' }, seg.text));
  const card = h('div', { class: `answer-card ${s.correct ? 'is-correct' : 'is-incorrect'}`, 'data-correct': String(s.correct), 'data-trained': trained.toLowerCase() },
    head,
    h('div', { class: 'answer-line' }, h('span', { class: 'answer-label' }, trained), answer, verdict(s.correct, trained)));
  if (trained === 'Student') {
    const teacher = s.teacherAnswer === undefined ? h('em', { class: 'muted' }, '(no teacher in this stage)') : s.teacherAnswer || h('em', { class: 'muted' }, '(empty answer)');
    card.append(h('div', { class: 'answer-line' }, h('span', { class: 'answer-label' }, 'Teacher'),
      h('p', { class: 'teacher-answer', 'aria-label': 'Teacher answer' }, teacher),
      s.teacherCorrect === undefined ? null : verdict(s.teacherCorrect, 'Teacher')));
  }
  return card;
}

function buildControls(): HTMLElement {
  const steps = allSteps();
  if (ui.step === null || !steps.includes(ui.step)) ui.step = steps[steps.length - 1] ?? null;
  const idx = ui.step === null ? 0 : steps.indexOf(ui.step);
  const slider = h('input', { type: 'range', id: 'step-scrubber', min: 0, max: Math.max(0, steps.length - 1), step: 1, value: idx, 'aria-label': 'Evaluation step', disabled: steps.length < 2 }) as HTMLInputElement;
  const label = h('span', { id: 'step-label', class: 'mono' }, ui.step === null ? '—' : `step ${ui.step} (${idx + 1}/${steps.length})`);
  slider.addEventListener('input', () => {
    ui.step = steps[Number(slider.value)] ?? null;
    label.textContent = ui.step === null ? '—' : `step ${ui.step} (${Number(slider.value) + 1}/${steps.length})`;
    persist();
    scheduleCards();
  });
  const types = [...new Set(runs.flatMap((r) => r.samples.map((s) => s.type)))].sort();
  const typeSel = h('vscode-single-select', { id: 'type-filter', 'aria-label': 'Question type' }) as HTMLElement & { value: string };
  for (const t of ['all', ...types]) typeSel.append(h('vscode-option', { value: t, selected: t === ui.type }, t === 'all' ? 'All types' : t));
  typeSel.addEventListener('change', () => {
    ui.type = typeSel.value;
    persist();
    scheduleCards();
  });
  const resSel = h('vscode-single-select', { id: 'result-filter', 'aria-label': 'Result' }) as HTMLElement & { value: string };
  for (const [v, l] of [['all', 'Right and wrong'], ['correct', 'Right only'], ['incorrect', 'Wrong only']]) resSel.append(h('vscode-option', { value: v, selected: v === ui.result }, l));
  resSel.addEventListener('change', () => {
    ui.result = resSel.value as Ui['result'];
    persist();
    scheduleCards();
  });
  const add = h('vscode-button', { secondary: true, icon: 'add', 'aria-label': 'Add Run…', disabled: runs.length >= 2, title: 'Show a second run side by side' }, 'Add Run…');
  add.addEventListener('click', () => post({ type: 'addRuns' }));
  const chips = h('div', { class: 'chips', 'aria-label': 'Runs' }, ...runs.map((r) => h('span', { class: `chip state-${r.info.state}`, title: r.info.key }, h('span', { class: 'chip-label' }, `${r.info.runId} (${r.info.experimentName})`),
    h('button', { class: 'icon-button', 'aria-label': `Remove run ${r.info.runId}`, onclick: () => post({ type: 'removeRun', key: r.info.key }) }, codicon('close')))));
  return h('div', {},
    h('header', { class: 'toolbar' }, h('h1', {}, 'LLaVA-KD Samples'), chips, add),
    h('section', { class: 'controls', 'aria-label': 'Sample controls' },
      h('label', { class: 'control scrubber' }, h('span', {}, 'Step'), slider, label),
      h('label', { class: 'control' }, h('span', {}, 'Type'), typeSel),
      h('label', { class: 'control' }, h('span', {}, 'Result'), resSel),
      h('span', { id: 'sample-count', class: 'muted', role: 'status' })));
}

/** Re-renders the cards 30 ms after the last of a burst of changes (scrubber, filters, appends). */
const scheduleCards = throttled(() => renderCards(), { delayMs: 30 });

let shownRows = 0;

function renderCards(): void {
  const list = document.getElementById('sample-list');
  if (!list) return;
  clear(list);
  shownRows = 0;
  const step = ui.step;
  if (step === null) {
    list.append(h('p', { class: 'state-message' }, codicon('info'), runs.some((r) => r.info.state === 'running') ? ' No samples yet — they appear at the first evaluation.' : ' These runs logged no samples.'));
    writeDebug();
    return;
  }
  const perRun = runs.map((r) => {
    const st = stepFor(r, step);
    const m = new Map<string, SampleView>();
    for (const s of r.samples) if (s.globalStep === st) m.set(s.id, s);
    return m;
  });
  const ids: string[] = [];
  for (const m of perRun) for (const id of m.keys()) if (!ids.includes(id)) ids.push(id);
  for (const id of ids) {
    const cards = perRun.map((m) => m.get(id));
    const first = cards.find((c) => c)!;
    if (ui.type !== 'all' && first.type !== ui.type) continue;
    if (ui.result !== 'all' && !cards.some((c) => c && c.correct === (ui.result === 'correct'))) continue;
    shownRows++;
    list.append(h('article', { class: 'sample-row', 'data-sample': id, 'aria-label': `Sample ${id}` },
      h('div', { class: 'sample-common' },
        imageEl(first),
        h('div', { class: 'sample-text' },
          h('span', { class: 'type-badge' }, first.type),
          h('p', { class: 'question' }, h('span', { class: 'answer-label' }, 'Q'), first.question),
          h('p', { class: 'ground-truth' }, h('span', { class: 'answer-label' }, 'Truth'), first.groundTruth))),
      h('div', { class: `sample-answers cols-${runs.length}` }, ...runs.map((r, i) => answerCard(r, cards[i])))));
  }
  if (!shownRows) list.append(h('p', { class: 'state-message' }, codicon('filter'), ' No sample matches the filters.'));
  const count = document.getElementById('sample-count');
  if (count) count.textContent = `${shownRows} of ${ids.length} samples`;
  writeDebug();
}

function writeDebug(): void {
  setDebug('ready', {
    runs: runs.map((r) => ({ runId: r.info.runId, samples: r.samples.length })),
    steps: allSteps().length,
    step: ui.step,
    shownRows,
    imagesLoaded: images.loaded,
    imagesFailed: images.failed,
    placeholders: document.querySelectorAll('.image-placeholder').length,
  });
}

function renderAll(): void {
  clear(root);
  root.setAttribute('aria-busy', 'false');
  root.append(buildControls(), h('section', { id: 'sample-list', class: 'sample-list', 'aria-label': 'Samples' }));
  renderCards();
}

function onMessage(m: HostMessage): void {
  if (showCommonState(root, m)) return;
  switch (m.type) {
    case 'samples/init': {
      const atEnd = ui.step === null || ui.step === allSteps().at(-1);
      runs = m.runs.map((info) => ({ info, samples: m.samples[info.key] ?? [] }));
      if (atEnd) ui.step = null;
      persist();
      if (!runs.length) {
        showNoRuns(root, { runs: [] });
        return;
      }
      renderAll();
      break;
    }
    case 'samples/append': {
      const r = runs.find((x) => x.info.key === m.key);
      if (!r || !m.samples.length) return;
      const steps = allSteps();
      const followLatest = ui.step === null || ui.step === steps[steps.length - 1];
      for (const s of m.samples) r.samples.push(s);
      if (followLatest) ui.step = null;
      renderAll();
      break;
    }
    case 'run/status': {
      const r = runs.find((x) => x.info.key === m.run.key);
      if (r) r.info = m.run;
      break;
    }
    default:
      break;
  }
}

connect(onMessage);
