/**
 * Language of the procedural world: captions and the question generators (color, shape,
 * count, exist, spatial). Every question is unambiguous for its scene (a referring expression
 * is used only when exactly one object matches it) and has a one- or two-word answer.
 */
import type { Rng } from './prng';
import { comboKey, type Combo, type Scene, type SceneObject } from './scene';
import { CELL_NAMES, CELL_PHRASES, COLOR_NAMES, SHAPES, SHAPE_PLURAL, SIZES, type Color, type Shape } from './vocab';

export const QUESTION_TYPES = ['color', 'shape', 'count', 'exist', 'spatial'] as const;
export type QuestionType = (typeof QUESTION_TYPES)[number];

export interface Question {
  type: QuestionType;
  question: string;
  answer: string;
  /** Scene objects the question is about (for held-out bookkeeping). */
  refs: SceneObject[];
  /** Combos named by the question that need not be in the scene (absent-object questions). */
  mentions: Combo[];
}

/** Context of question generation: combos a question may not name (held out in train). */
export interface QuestionContext {
  forbiddenCombos: ReadonlySet<string>;
}

/** "a" or "an" for the following word. */
const article = (word: string): string => (/^[aeiou]/.test(word) ? 'an' : 'a');

/** One-sentence caption naming every object with its size, colour, shape and place. */
export function caption(scene: Scene): string {
  const parts = scene.objects.map((o) => `a ${o.size} ${o.color} ${o.shape} ${CELL_PHRASES[o.cell]}`);
  if (parts.length === 1) return `${parts[0]}.`;
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}.`;
}

/** Kinds of definite referring expressions, and which attributes each one uses. */
type RefKind = 'shape' | 'color' | 'colorShape' | 'sizeShape' | 'sizeColor' | 'sizeColorShape' | 'position';

const REF_USES: Record<RefKind, { color: boolean; shape: boolean; size: boolean; position: boolean }> = {
  shape: { color: false, shape: true, size: false, position: false },
  color: { color: true, shape: false, size: false, position: false },
  colorShape: { color: true, shape: true, size: false, position: false },
  sizeShape: { color: false, shape: true, size: true, position: false },
  sizeColor: { color: true, shape: false, size: true, position: false },
  sizeColorShape: { color: true, shape: true, size: true, position: false },
  position: { color: false, shape: false, size: false, position: true },
};

function matches(kind: RefKind, a: SceneObject, b: SceneObject): boolean {
  const u = REF_USES[kind];
  return (
    (!u.color || a.color === b.color) &&
    (!u.shape || a.shape === b.shape) &&
    (!u.size || a.size === b.size) &&
    (!u.position || a.cell === b.cell)
  );
}

/** Definite description of `o` of the given kind ("the red circle", "the object on the left"). */
function refText(kind: RefKind, o: SceneObject): string {
  switch (kind) {
    case 'shape': return `the ${o.shape}`;
    case 'color': return `the ${o.color} object`;
    case 'colorShape': return `the ${o.color} ${o.shape}`;
    case 'sizeShape': return `the ${o.size} ${o.shape}`;
    case 'sizeColor': return `the ${o.size} ${o.color} object`;
    case 'sizeColorShape': return `the ${o.size} ${o.color} ${o.shape}`;
    case 'position': return `the object ${CELL_PHRASES[o.cell]}`;
  }
}

/** Kinds among `kinds` that pick out `o` uniquely in `scene`. */
function uniqueKinds(scene: Scene, o: SceneObject, kinds: readonly RefKind[]): RefKind[] {
  return kinds.filter((k) => scene.objects.filter((b) => matches(k, o, b)).length === 1);
}

interface Ref {
  obj: SceneObject;
  text: string;
}

/**
 * A random unique reference to some object, using only `kinds`; a position reference (when
 * allowed) is used with probability `positionRate` when another kind is available.
 */
function pickRef(rng: Rng, scene: Scene, kinds: readonly RefKind[], positionRate = 0.3, obj?: SceneObject): Ref | null {
  const options: { obj: SceneObject; kind: RefKind }[] = [];
  for (const o of obj ? [obj] : scene.objects) for (const k of uniqueKinds(scene, o, kinds)) options.push({ obj: o, kind: k });
  if (options.length === 0) return null;
  const verbal = options.filter((x) => x.kind !== 'position');
  const pool = verbal.length > 0 && !(verbal.length < options.length && rng.chance(positionRate)) ? verbal : options;
  const { obj: o, kind } = rng.pick(pool);
  return { obj: o, text: refText(kind, o) };
}

const NON_POSITION: RefKind[] = ['shape', 'color', 'colorShape', 'sizeShape', 'sizeColor', 'sizeColorShape'];

function colorQuestion(rng: Rng, scene: Scene): Question | null {
  const ref = pickRef(rng, scene, ['shape', 'sizeShape', 'position']);
  if (!ref) return null;
  return { type: 'color', question: `what color is ${ref.text}?`, answer: ref.obj.color, refs: [ref.obj], mentions: [] };
}

function shapeQuestion(rng: Rng, scene: Scene): Question | null {
  const ref = pickRef(rng, scene, ['color', 'sizeColor', 'position']);
  if (!ref) return null;
  return { type: 'shape', question: `what shape is ${ref.text}?`, answer: ref.obj.shape, refs: [ref.obj], mentions: [] };
}

function countQuestion(rng: Rng, scene: Scene): Question {
  const variant = rng.int(0, 2);
  const objs = scene.objects;
  if (variant === 0) {
    return { type: 'count', question: 'how many objects are there?', answer: String(objs.length), refs: objs, mentions: [] };
  }
  if (variant === 1) {
    const color: Color = rng.chance(0.7) ? rng.pick(objs).color : rng.pick(COLOR_NAMES);
    const refs = objs.filter((o) => o.color === color);
    return { type: 'count', question: `how many ${color} objects are there?`, answer: String(refs.length), refs, mentions: [] };
  }
  const shape: Shape = rng.chance(0.7) ? rng.pick(objs).shape : rng.pick(SHAPES);
  const refs = objs.filter((o) => o.shape === shape);
  return { type: 'count', question: `how many ${SHAPE_PLURAL[shape]} are there?`, answer: String(refs.length), refs, mentions: [] };
}

/** Indefinite description kinds of existence questions. */
type ExistKind = 'shape' | 'color' | 'colorShape' | 'sizeColorShape';
const EXIST_KINDS: ExistKind[] = ['shape', 'color', 'colorShape', 'colorShape', 'sizeColorShape'];

function existQuestion(rng: Rng, scene: Scene, ctx: QuestionContext): Question | null {
  const kind = rng.pick(EXIST_KINDS);
  const present = rng.chance(0.5);
  let attrs: { color: Color; shape: Shape; size: (typeof SIZES)[number] } | null = null;
  if (present) {
    const o = rng.pick(scene.objects);
    attrs = { color: o.color, shape: o.shape, size: o.size };
  } else {
    for (let tries = 0; tries < 100 && !attrs; tries++) {
      const cand = { color: rng.pick(COLOR_NAMES), shape: rng.pick(SHAPES), size: rng.pick(SIZES) };
      const usesCombo = kind === 'colorShape' || kind === 'sizeColorShape';
      if (usesCombo && ctx.forbiddenCombos.has(comboKey(cand))) continue;
      const m = scene.objects.some(
        (o) =>
          (kind === 'color' || o.shape === cand.shape) &&
          (kind === 'shape' || o.color === cand.color) &&
          (kind !== 'sizeColorShape' || o.size === cand.size),
      );
      if (!m) attrs = cand;
    }
    if (!attrs) return null;
  }
  const desc =
    kind === 'shape' ? `a ${attrs.shape}`
    : kind === 'color' ? `${article(attrs.color)} ${attrs.color} object`
    : kind === 'colorShape' ? `${article(attrs.color)} ${attrs.color} ${attrs.shape}`
    : `a ${attrs.size} ${attrs.color} ${attrs.shape}`;
  const refs = scene.objects.filter(
    (o) =>
      (kind === 'color' || o.shape === attrs.shape) &&
      (kind === 'shape' || o.color === attrs.color) &&
      (kind !== 'sizeColorShape' || o.size === attrs.size),
  );
  const mentions = kind === 'colorShape' || kind === 'sizeColorShape' ? [{ color: attrs.color, shape: attrs.shape }] : [];
  return { type: 'exist', question: `is there ${desc}?`, answer: refs.length > 0 ? 'yes' : 'no', refs, mentions };
}

function spatialQuestion(rng: Rng, scene: Scene): Question | null {
  const rel = scene.objects.length >= 2 && rng.chance(0.5) ? relationQuestion(rng, scene) : null;
  if (rel) return rel;
  const ref = pickRef(rng, scene, NON_POSITION);
  if (!ref) return null;
  return { type: 'spatial', question: `where is ${ref.text}?`, answer: CELL_NAMES[ref.obj.cell], refs: [ref.obj], mentions: [] };
}

function relationQuestion(rng: Rng, scene: Scene): Question | null {
  const pairs: [SceneObject, SceneObject][] = [];
  for (const a of scene.objects) for (const b of scene.objects) if (a !== b) pairs.push([a, b]);
  for (const [a, b] of rng.shuffle(pairs)) {
    const ra = pickRef(rng, scene, NON_POSITION, 0, a);
    const rb = pickRef(rng, scene, NON_POSITION, 0, b);
    if (!ra || !rb) continue;
    const axes: ('h' | 'v')[] = [];
    if (a.cell % 3 !== b.cell % 3) axes.push('h');
    if (Math.floor(a.cell / 3) !== Math.floor(b.cell / 3)) axes.push('v');
    if (axes.length === 0) continue;
    const axis = rng.pick(axes);
    let word: string;
    let holds: boolean;
    if (axis === 'h') {
      word = rng.chance(0.5) ? 'left of' : 'right of';
      holds = word === 'left of' ? a.cell % 3 < b.cell % 3 : a.cell % 3 > b.cell % 3;
    } else {
      word = rng.chance(0.5) ? 'above' : 'below';
      const ya = Math.floor(a.cell / 3);
      const yb = Math.floor(b.cell / 3);
      holds = word === 'above' ? ya < yb : ya > yb;
    }
    return { type: 'spatial', question: `is ${ra.text} ${word} ${rb.text}?`, answer: holds ? 'yes' : 'no', refs: [a, b], mentions: [] };
  }
  return null;
}

/** One question of `type` about `scene`, or null when no unambiguous one exists. */
export function makeQuestion(rng: Rng, scene: Scene, type: QuestionType, ctx: QuestionContext): Question | null {
  switch (type) {
    case 'color': return colorQuestion(rng, scene);
    case 'shape': return shapeQuestion(rng, scene);
    case 'count': return countQuestion(rng, scene);
    case 'exist': return existQuestion(rng, scene, ctx);
    case 'spatial': return spatialQuestion(rng, scene);
  }
}

/**
 * Picks `n` distinct question types for one image, keeping the running `counts` balanced:
 * each slot takes a feasible type with the smallest count so far (ties broken at random).
 */
export function balancedQuestions(
  rng: Rng,
  scene: Scene,
  n: number,
  counts: Record<QuestionType, number>,
  ctx: QuestionContext,
): Question[] {
  const out: Question[] = [];
  const used = new Set<QuestionType>();
  while (out.length < n) {
    const left = rng.shuffle(QUESTION_TYPES.filter((t) => !used.has(t))).sort((a, b) => counts[a] - counts[b]);
    let got: Question | null = null;
    for (const t of left) {
      used.add(t);
      got = makeQuestion(rng, scene, t, ctx);
      if (got) break;
    }
    if (!got) break;
    counts[got.type]++;
    out.push(got);
  }
  return out;
}
