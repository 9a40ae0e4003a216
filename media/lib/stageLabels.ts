/**
 * Placement of the stage labels at the top of a chart: each label right of its line, or left of
 * it when it would run past the plot's right edge, never outside the plot area; labels that would
 * overlap go on the next row down (up to `maxRows`, then the row with the most room). Every label
 * is drawn: none is dropped or clipped (#9: the last stage's label used to vanish at the edge).
 * Pure, unit-tested in test/webview-stageLabels.test.ts.
 */

export interface LabelBox {
  /** Pixel x of the stage line. */
  px: number;
  /** Measured text width in pixels. */
  width: number;
}

export interface PlacedLabel {
  /** Left edge of the text. */
  x: number;
  /** Row index from the top (0 = first row). */
  row: number;
}

const GAP = 3;

export function layoutStageLabels(labels: readonly LabelBox[], left: number, right: number, maxRows = 4): PlacedLabel[] {
  const rowEnd: number[] = [];
  return labels.map((l) => {
    let x = l.px + GAP;
    if (x + l.width > right) x = l.px - GAP - l.width;
    x = Math.max(left, Math.min(x, right - l.width));
    let row = rowEnd.findIndex((end) => end <= x);
    if (row < 0) {
      if (rowEnd.length < maxRows) row = rowEnd.length;
      else row = rowEnd.indexOf(Math.min(...rowEnd));
    }
    rowEnd[row] = x + l.width + GAP;
    return { x, row };
  });
}
