/**
 * Theme colours for charts, read from VS Code's CSS variables (so light, dark and high-contrast
 * themes all work), and a hook to re-read them when the theme changes.
 */

export function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

export interface ChartTheme {
  foreground: string;
  muted: string;
  grid: string;
  stageLine: string;
  /** Series colours: blue, red, green, yellow, purple, orange. */
  series: string[];
  font: string;
}

export function chartTheme(): ChartTheme {
  return {
    foreground: cssVar('--vscode-foreground', '#cccccc'),
    muted: cssVar('--vscode-descriptionForeground', '#9d9d9d'),
    grid: cssVar('--vscode-editorWidget-border', cssVar('--vscode-panel-border', 'rgba(128,128,128,0.25)')),
    // Not editorRuler.foreground: light themes make it near-white (#f7f7f7), invisible on a card.
    stageLine: cssVar('--vscode-descriptionForeground', '#808080'),
    series: [
      cssVar('--vscode-charts-blue', '#3794ff'),
      cssVar('--vscode-charts-red', '#f14c4c'),
      cssVar('--vscode-charts-green', '#89d185'),
      cssVar('--vscode-charts-yellow', '#cca700'),
      cssVar('--vscode-charts-purple', '#b180d7'),
      cssVar('--vscode-charts-orange', '#d18616'),
    ],
    font: cssVar('--vscode-font-family', 'sans-serif'),
  };
}

/** Colour with alpha: works for #rgb, #rrggbb and rgb()/rgba() strings. */
export function withAlpha(color: string, alpha: number): string {
  const c = color.trim();
  let m = /^#([0-9a-f]{3})$/i.exec(c);
  if (m) {
    const [r, g, b] = m[1].split('').map((x) => parseInt(x + x, 16));
    return `rgba(${r},${g},${b},${alpha})`;
  }
  m = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(c);
  if (m) {
    const n = parseInt(m[1], 16);
    return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
  }
  const rgb = /^rgba?\(([^,]+),([^,]+),([^,)]+)/.exec(c);
  if (rgb) return `rgba(${rgb[1].trim()},${rgb[2].trim()},${rgb[3].trim()},${alpha})`;
  return c;
}

/** Calls `cb` when VS Code switches theme (body class or inline variables change). */
export function onThemeChange(cb: () => void): void {
  let t: number | undefined;
  new MutationObserver(() => {
    clearTimeout(t);
    t = window.setTimeout(cb, 50);
  }).observe(document.body, { attributes: true, attributeFilter: ['class', 'style', 'data-vscode-theme-kind'] });
}
