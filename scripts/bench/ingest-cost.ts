// Measures what one ingest costs: CPU (share of one core) and RSS of its ffmpeg, for a camera
// passed through (H.264 copy) and for cameras transcoded (MJPEG, B-frames), same size and rate.
// Usage: node scripts/with-env.mjs tsx scripts/bench/ingest-cost.ts [--seconds N]
import { readFileSync } from 'node:fs';
import { Simulator } from '../camsim/Simulator.ts';
import { startTestApp } from '../../test/support/pipelineApp.ts';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 15;
const ticksPerSecond = 100;
const size = { width: 640, height: 360, fps: 25 } as const;
const cameras = [
  { id: 'pass-h264-main', codec: 'h264', profile: 'main', gop: 25, bitrateKbps: 800 },
  { id: 'transcode-mjpeg', codec: 'mjpeg' },
  { id: 'transcode-bframes', codec: 'h264', profile: 'main', bframes: 2, gop: 25, bitrateKbps: 800 },
] as const;

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}
function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(match?.[1] ?? 0) / 1024);
}

const sim = await Simulator.start({ config: { cameras: cameras.map((c, i) => ({ ...size, ...c, tag: 60 + i })) } });
const t = await startTestApp({ media: { workers: 1 }, cameras: cameras.map((c) => ({ id: c.id, name: c.id, url: sim.url(c.id) })) });
const results: Record<string, { cpuPercent: number; rssMb: number; transcodeReason: string | null }> = {};
try {
  for (const camera of cameras) {
    const lease = await t.app.cameras.acquire(camera.id);
    const pid = t.app.cameras.session(camera.id)!.ingestPid!;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const start = cpuTicks(pid);
    const started = Date.now();
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    const cpuPercent = ((cpuTicks(pid) - start) / ticksPerSecond / ((Date.now() - started) / 1000)) * 100;
    results[camera.id] = {
      cpuPercent: Math.round(cpuPercent * 10) / 10,
      rssMb: rssMb(pid),
      transcodeReason: t.app.cameras.status(camera.id)?.transcodeReason ?? null,
    };
    lease.release();
  }
} finally {
  await t.close();
  await sim.stop();
}
console.log(JSON.stringify({ seconds, camera: `${size.width}x${size.height}@${size.fps}`, results }, null, 2));
const line = Object.entries(results).map(([id, r]) => `${id} ${r.cpuPercent}% CPU ${r.rssMb} MB`).join('; ');
console.log(`ingest cost per camera (${size.width}x${size.height}@${size.fps}, share of one core): ${line}`);
