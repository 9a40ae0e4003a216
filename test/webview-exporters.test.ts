// Tests of media/lib/exporters.ts: CSV quoting, series in long form, and the chart SVG.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chartSvg, csvField, seriesCsv, toCsv } from '../media/lib/exporters';

test('csv: fields with commas, quotes and newlines are quoted; non-finite numbers empty', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField(NaN), '');
  assert.equal(csvField(null), '');
  assert.equal(toCsv([['run', 'test (kd)'], ['x', 0.5]]), 'run,test (kd)\r\nx,0.5\r\n');
  assert.equal(seriesCsv('global step', [{ label: 'CE · kd', points: [{ x: 1, y: 2.5 }, { x: 2, y: 2 }] }]), 'series,global step,value\r\nCE · kd,1,2.5\r\nCE · kd,2,2\r\n');
});

test('svg: a standalone document with the series as polylines, bands as polygons, escaped labels and a legend', () => {
  const svg = chartSvg({
    width: 400, height: 200, title: 'Loss <breakdown>', area: { left: 40, top: 10, right: 390, bottom: 170 },
    xTicks: [{ px: 40, label: '0' }, { px: 390, label: '100' }], yTicks: [{ py: 170, label: '0' }], xTitle: 'global step', yTitle: 'loss',
    stageLines: [{ px: 200, label: 'kd/dft' }],
    series: [
      { label: 'CE · kd', color: '#3794ff', width: 1.5, dash: [], points: [[40, 100], [390, 150]], legend: true },
      { label: 'CE (band)', color: 'transparent', width: 0, dash: [], points: [[40, 90], [390, 140]], fillTo: [[40, 110], [390, 160]], fillColor: 'rgba(0,0,255,0.2)', legend: false },
      { label: 'CE · baseline', color: '#cca700', width: 1.5, dash: [7, 3], points: [[40, 120]], legend: true },
    ],
    foreground: '#333', muted: '#777', grid: '#ddd', background: '#fff',
  });
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.match(svg, /<title>Loss &lt;breakdown&gt;<\/title>/);
  assert.match(svg, /<polyline points="40,100 390,150" fill="none" stroke="#3794ff"/);
  assert.match(svg, /<polygon points="40,90 390,140 390,160 40,110" fill="rgba\(0,0,255,0.2\)"/);
  assert.match(svg, /stroke-dasharray="7 3"/);
  assert.match(svg, />kd\/dft<\/text>/);
  assert.equal((svg.match(/<text[^>]*>CE · (kd|baseline)<\/text>/g) ?? []).length, 2, 'legend lists the two lines, not the band');
  assert.doesNotMatch(svg, /<script/);
});
