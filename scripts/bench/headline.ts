/**
 * The rows of the suite's table (scripts/bench/run.ts, README.md's Performance section): a few
 * numbers out of each benchmark's JSON, as "median (min-max, n)" per system.
 */
import type { Spread } from './stats.ts';

export interface HeadlineRow {
  benchmark: string;
  measure: string;
  c5?: string;
  janus?: string;
  rtspRelay?: string;
}

type Json = Record<string, unknown>;

const get = (json: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Json)[key] : undefined), json);

function isSpread(v: unknown): v is Spread {
  return Boolean(v && typeof v === 'object' && 'median' in v && 'n' in v);
}

/** "116 (110-121, n=3)"; `scale` divides (ms -> s). */
export function fmtSpread(v: unknown, opts: { scale?: number; digits?: number; unit?: string } = {}): string | undefined {
  if (!isSpread(v) || v.median === null) return undefined;
  const scale = opts.scale ?? 1;
  const digits = opts.digits ?? 0;
  const f = (x: number | null) => (x === null ? '?' : (x / scale).toFixed(digits));
  const unit = opts.unit ?? '';
  return v.n > 1 ? `${f(v.median)}${unit} (${f(v.min)}-${f(v.max)}, n=${v.n})` : `${f(v.median)}${unit} (n=1)`;
}

const SYSTEMS = ['c5', 'janus', 'rtspRelay'] as const;

function perSystem(benchmark: string, measure: string, pick: (system: (typeof SYSTEMS)[number]) => string | undefined): HeadlineRow {
  const row: HeadlineRow = { benchmark, measure };
  for (const s of SYSTEMS) {
    const v = pick(s);
    if (v !== undefined) row[s] = v;
  }
  return row;
}

export function headlineRows(name: string, json: Json): HeadlineRow[] {
  switch (name) {
    case 'latency': {
      const rows: HeadlineRow[] = [];
      for (const [variant, label] of [
        ['single', '1 viewer'],
        ['loaded', '+20 viewers'],
      ] as const) {
        for (const p of ['p50', 'p95', 'p99'] as const) {
          rows.push(perSystem('latency', `glass-to-glass ${p}, ${label} (ms)`, (s) => fmtSpread(get(json, 'variants', variant, s, p))));
        }
      }
      // The second camera (1280x720@30, 2 slices per frame), and the native decoder's floor.
      for (const p of ['p50', 'p95'] as const) {
        rows.push(perSystem('latency', `glass-to-glass ${p}, 1 viewer, 1280x720@30 2-slice camera (ms)`, (s) => fmtSpread(get(json, 'cameras', 'slices', 'variants', 'single', s, p))));
      }
      for (const [camera, label] of [
        ['stamped', '640x360@25'],
        ['slices', '1280x720@30 2-slice'],
      ] as const) {
        const floor = (p: string) => fmtSpread(get(json, 'cameras', camera, 'variants', 'single', 'floor', p));
        const distance = get(json, 'cameras', camera, 'floorDistance') as { p50?: number | null; p95?: number | null } | undefined;
        if (floor('p50') === undefined) continue;
        rows.push({
          benchmark: 'latency',
          measure: `${label}: native GStreamer decoder of the same mount (floor) p50 / p95, and C5 Live above it (ms)`,
          c5: `floor ${floor('p50')} / ${floor('p95') ?? '?'}; C5 Live +${distance?.p50 ?? '?'} / +${distance?.p95 ?? '?'}`,
        });
      }
      return rows;
    }
    case 'ttff': {
      const rows: HeadlineRow[] = [];
      for (const gop of [1, 2]) {
        for (const mode of ['warm', 'cold'] as const) {
          rows.push(perSystem('ttff', `first frame, GOP ${gop} s, ${mode} (s)`, (s) => fmtSpread(get(json, 'ttffMs', s, `gop${gop}s`, mode), { scale: 1000, digits: 2 })));
        }
      }
      return rows;
    }
    case 'fanout-webrtc': {
      const pct = (v: unknown) => fmtSpread(v, { digits: 2, unit: '%' });
      return [
        perSystem('fanout, WebRTC viewers in Chromium', 'server CPU per viewer (% of one core)', (s) => (s === 'rtspRelay' ? undefined : pct(get(json, 'systems', s, 'cpuPerViewerPct')))),
        perSystem('fanout, WebRTC viewers in Chromium', 'viewers reached under 1% loss (stepping stops at the load generator)', (s) =>
          s === 'rtspRelay' ? undefined : fmtSpread(get(json, 'systems', s, 'maxCleanViewers')),
        ),
      ];
    }
    case 'fanout-srtp':
      return [
        { benchmark: 'fanout, SRTP PlainTransport sinks', measure: 'one worker\'s ceiling: consumers of a 1 Mbit/s camera under 1% loss', c5: fmtSpread(get(json, 'ceiling', 'consumers')) },
        { benchmark: 'fanout, SRTP PlainTransport sinks', measure: 'forwarded at the ceiling (Mbit/s)', c5: fmtSpread(get(json, 'ceiling', 'mbps')) },
        { benchmark: 'fanout, SRTP PlainTransport sinks', measure: 'worker CPU per forwarded packet (µs)', c5: fmtSpread(get(json, 'workerUsPerPacket'), { digits: 1 }) },
      ];
    case 'ingest': {
      const rows: HeadlineRow[] = [];
      // Per-camera figures are least-squares slopes over the steps (scripts/bench/ingest.ts).
      for (const [variant, label] of [
        ['relay', 'H.264 relay in the ingest worker'],
        ['copy', 'H.264 ffmpeg `-c copy` (children of the worker)'],
        ['transcoded', 'transcoded MJPEG -> H.264'],
      ] as const) {
        if (get(json, 'variants', variant) === undefined) continue;
        const per = (key: string) => get(json, 'variants', variant, 'perCamera', key);
        const h = (key: string) => get(json, 'variants', variant, 'headline', key);
        const notSaturated = Number(h('trialsNotSaturated') ?? 0) > 0 ? ` (not saturated up to ${fmtSpread(h('sustains')) ?? '?'})` : '';
        rows.push(
          { benchmark: `ingest, ${label}`, measure: 'CPU per camera: ingest worker + its ffmpeg children (% of one core)', c5: fmtSpread(per('ingestCpu'), { digits: 2, unit: '%' }) },
          { benchmark: `ingest, ${label}`, measure: 'private memory per camera: ingest worker + its ffmpeg children (MB)', c5: fmtSpread(per('ingestPrivateMb'), { digits: 2 }) },
          { benchmark: `ingest, ${label}`, measure: "mediasoup's receive CPU per camera (% of one core)", c5: fmtSpread(per('mediasoupCpu'), { digits: 2, unit: '%' }) },
          { benchmark: `ingest, ${label}`, measure: 'cameras at saturation (1 ingest worker, 2 cores, simulator on the same machine)', c5: `${fmtSpread(h('saturatesAt')) ?? 'n/a'}${notSaturated}` },
        );
      }
      return rows;
    }
    default:
      return [];
  }
}
