// Tests of media/lib/wordDiff.ts on known answer/ground-truth pairs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffWords, sameAnswer, tokenize } from '../media/lib/wordDiff';

const marked = (a: string, t: string): string => diffWords(a, t).map((s) => (s.same ? s.text : `[${s.text.trim()}]${s.text.slice(s.text.trimEnd().length)}`)).join('');

test('one substituted word is marked', () => {
  assert.equal(marked('There are three red circles.', 'There are two red circles.'), 'There are [three] red circles.');
});

test('case and punctuation do not count as differences', () => {
  assert.equal(marked('Red.', 'red'), 'Red.');
  assert.ok(sameAnswer('Yes!', 'yes'));
  assert.ok(!sameAnswer('yes', 'no'));
});

test('inserted and reordered words', () => {
  assert.equal(marked('the big blue square', 'the blue square'), 'the [big] blue square');
  assert.equal(marked('square blue', 'blue square'), '[square] blue');
  assert.equal(marked('', 'blue'), '');
  assert.equal(marked('green', ''), '[green]');
});

test('segments rebuild the answer exactly', () => {
  const a = 'A  red circle\tleft of a square';
  assert.equal(diffWords(a, 'a red circle').map((s) => s.text).join(''), a);
  assert.deepEqual(tokenize('a b'), ['a ', 'b']);
});
