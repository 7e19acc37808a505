/**
 * PNG plots for the benchmarks: Chart.js (node_modules, no CDN) drawn in Debian's headless Chromium
 * and screenshotted, so no native canvas module is needed.
 *
 *   await writePlot('bench-results/latency.png', {
 *     title: 'Glass-to-glass latency', kind: 'bar', xLabel: 'system', yLabel: 'ms',
 *     series: [{ label: 'p50', points: [{ x: 'C5 Live', y: 116, yMin: 110, yMax: 121 }] }],
 *   });
 *
 * yMin/yMax draw a whisker (the spread over trials). 'line' plots use a numeric x axis.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../../test/support/browser.ts';

const require = createRequire(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'));

export interface PlotPoint {
  x: number | string;
  y: number | null;
  yMin?: number | null;
  yMax?: number | null;
}

export interface PlotSeries {
  label: string;
  points: PlotPoint[];
  /** Draw against a second y axis on the right (its label: PlotSpec.y2Label). */
  y2?: boolean;
}

export interface PlotSpec {
  title: string;
  subtitle?: string;
  kind: 'bar' | 'line';
  xLabel: string;
  yLabel: string;
  y2Label?: string;
  series: PlotSeries[];
  /** Logarithmic x axis (line plots). */
  logX?: boolean;
  width?: number;
  height?: number;
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf', '#7f7f7f'];

function chartConfig(spec: PlotSpec): unknown {
  const categories = spec.kind === 'bar' ? [...new Set(spec.series.flatMap((s) => s.points.map((p) => String(p.x))))] : undefined;
  return {
    type: spec.kind,
    data: {
      ...(categories && { labels: categories }),
      datasets: spec.series.map((s, i) => ({
        label: s.label,
        data:
          spec.kind === 'bar'
            ? categories!.map((c) => {
                const p = s.points.find((q) => String(q.x) === c);
                return p?.y ?? null;
              })
            : s.points.map((p) => ({ x: p.x, y: p.y })),
        whiskers:
          spec.kind === 'bar'
            ? categories!.map((c) => {
                const p = s.points.find((q) => String(q.x) === c);
                return p && p.yMin != null && p.yMax != null ? [p.yMin, p.yMax] : null;
              })
            : s.points.map((p) => (p.yMin != null && p.yMax != null ? [p.yMin, p.yMax] : null)),
        backgroundColor: COLORS[i % COLORS.length] + (spec.kind === 'bar' ? 'cc' : ''),
        borderColor: COLORS[i % COLORS.length],
        borderWidth: 2,
        pointRadius: 3,
        yAxisID: s.y2 ? 'y2' : 'y',
      })),
    },
    options: {
      animation: false,
      responsive: false,
      plugins: {
        title: { display: true, text: spec.title, font: { size: 16 } },
        subtitle: { display: Boolean(spec.subtitle), text: spec.subtitle ?? '' },
        legend: { position: 'bottom' },
      },
      scales: {
        x: { ...(spec.kind === 'line' && { type: spec.logX ? 'logarithmic' : 'linear' }), title: { display: true, text: spec.xLabel } },
        y: { beginAtZero: true, title: { display: true, text: spec.yLabel } },
        ...(spec.series.some((s) => s.y2) && {
          y2: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: spec.y2Label ?? '' } },
        }),
      },
    },
  };
}

/** Draws min..max whiskers from each dataset's `whiskers` array (same index as its data). */
const WHISKER_PLUGIN = `{
  id: 'whiskers',
  afterDatasetsDraw(chart) {
    const ctx = chart.ctx;
    chart.data.datasets.forEach((ds, i) => {
      const meta = chart.getDatasetMeta(i);
      if (meta.hidden || !ds.whiskers) return;
      const scale = chart.scales[ds.yAxisID || 'y'];
      meta.data.forEach((el, j) => {
        const w = ds.whiskers[j];
        if (!w) return;
        const x = el.x, top = scale.getPixelForValue(w[1]), bottom = scale.getPixelForValue(w[0]);
        ctx.save();
        ctx.strokeStyle = '#222';
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        ctx.moveTo(x, top); ctx.lineTo(x, bottom);
        ctx.moveTo(x - 5, top); ctx.lineTo(x + 5, top);
        ctx.moveTo(x - 5, bottom); ctx.lineTo(x + 5, bottom);
        ctx.stroke();
        ctx.restore();
      });
    });
  },
}`;

/** Renders `spec` to a PNG file (directories created). */
export async function writePlot(file: string, spec: PlotSpec): Promise<void> {
  const width = spec.width ?? 900;
  const height = spec.height ?? 500;
  const chartJs = readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
  const chromium = await launchChromium({ viewport: { width, height } });
  try {
    const page = await chromium.newPage();
    await page.setContent(`<!doctype html><html><body style="margin:0;background:#fff"><canvas id="c" width="${width}" height="${height}"></canvas></body></html>`);
    await page.addScriptTag({ content: chartJs });
    await page.evaluate(`new Chart(document.getElementById('c'), Object.assign(${JSON.stringify(chartConfig(spec))}, { plugins: [${WHISKER_PLUGIN}] }))`);
    mkdirSync(dirname(file), { recursive: true });
    await page.locator('#c').screenshot({ path: file });
  } finally {
    await chromium.close();
  }
}
