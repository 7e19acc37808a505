// The health prober against thousands of camera endpoints while one camera is watched: probes per
// second, the highest concurrency seen, and the live view's frame rate before and during the round.
// Usage: node scripts/with-env.mjs tsx scripts/bench/prober.ts [--cameras 5000] [--rate 50] [--concurrency 16]
import type { types } from 'mediasoup';
import { Simulator } from '../camsim/Simulator.ts';
import { startTestApp } from '../../test/support/pipelineApp.ts';
import { commandLine, sleep } from './host.ts';

const { count, rate, concurrency } = commandLine({ cameras: { type: 'string' }, rate: { type: 'string' }, concurrency: { type: 'string' } }, (flags) => ({
  count: flags.integer('cameras', { min: 1, max: 100_000, fallback: 5000 }),
  rate: flags.number('rate', { min: 1, max: 100_000, fallback: 50 }),
  concurrency: flags.integer('concurrency', { min: 1, max: 1000, fallback: 16 }),
}));

const sim = await Simulator.start({
  config: {
    cameras: [
      { bulk: { prefix: 'bulk-', count, width: 160, height: 90, fps: 5, codec: 'h264', profile: 'baseline' } },
      { id: 'cam-live', tag: 5, codec: 'h264', profile: 'baseline', width: 640, height: 360, fps: 25, gop: 25 },
    ],
  },
});
const t = await startTestApp({ media: { workers: 1 }, health: { concurrency, maxPerSecond: rate, timeoutMs: 4000, intervalMs: 3_600_000 }, cameras: [{ id: 'cam-live', name: 'Live', url: sim.url('cam-live') }] });
try {
  const seedStarted = Date.now();
  const batch = 200;
  for (let i = 1; i <= count; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - i + 1) }, (_, k) =>
        t.app.catalog.ensureConfigured({ id: `bulk-${i + k}`, name: `Bulk ${i + k}`, url: sim.url(`bulk-${i + k}`), transport: 'tcp', alwaysOn: false, area: 'agency' }),
      ),
    );
  }
  const seedMs = Date.now() - seedStarted;
  const lease = await t.app.cameras.acquire('cam-live');
  const router = lease.feed!.host.router;
  const transport: types.DirectTransport = await router.createDirectTransport();
  const consumer = await transport.consume({ producerId: lease.feed!.producer.id, rtpCapabilities: router.rtpCapabilities });
  const frames: number[] = [];
  let last = -1;
  consumer.on('rtp', (packet: Buffer) => {
    const ts = packet.readUInt32BE(4);
    if (ts !== last) frames.push(Date.now());
    last = ts;
  });
  const fps = (from: number, to: number) => frames.filter((at) => at >= from && at < to).length / ((to - from) / 1000);
  await sleep(6000);
  const baselineEnd = Date.now();
  const cpuBefore = process.cpuUsage();
  const simCpuBefore = (await sim.status()).cpuSeconds;
  const started = Date.now();
  await t.app.prober.runRound();
  const tookMs = Date.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const simCpu = (await sim.status()).cpuSeconds - simCpuBefore;
  const page = await t.app.catalog.fleetPage({ offset: 0, limit: 1 });
  const result = {
    cameras: count + 1,
    rateLimitPerSecond: rate,
    concurrencyLimit: concurrency,
    probes: t.app.prober.stats.probes,
    roundSeconds: tookMs / 1000,
    probesPerSecond: Math.round((t.app.prober.stats.probes / tookMs) * 1000),
    maxInFlight: t.app.prober.stats.maxInFlight,
    serverCpuSecondsDuringRound: (cpu.user + cpu.system) / 1e6,
    simulatorCpuSecondsDuringRound: simCpu,
    liveFpsBefore: Number(fps(baselineEnd - 5000, baselineEnd).toFixed(2)),
    liveFpsDuring: Number(fps(started, started + tookMs).toFixed(2)),
    healthCounts: page.healthCounts,
    catalogSeedSeconds: seedMs / 1000,
  };
  transport.close();
  lease.release();
  console.log(JSON.stringify(result, null, 2));
  console.log(`prober: ${result.probes} cameras in ${result.roundSeconds.toFixed(1)} s (${result.probesPerSecond}/s, limit ${rate}/s, max ${result.maxInFlight} in flight); live view ${result.liveFpsBefore} fps before, ${result.liveFpsDuring} fps during`);
} finally {
  await t.close();
  await sim.stop();
}
