import { expect } from 'chai';
import type { types } from 'mediasoup';
import { Simulator, freePort } from '../support/simulator.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';

const BULK = 190;

/** Frames per second of a live camera, counted as distinct RTP timestamps reaching a DirectTransport consumer. */
class FrameCounter {
  readonly timestamps: Array<{ at: number; ts: number }> = [];
  private constructor(readonly transport: types.DirectTransport) {}
  static async attach(router: types.Router, producer: types.Producer): Promise<FrameCounter> {
    const transport = await router.createDirectTransport();
    const counter = new FrameCounter(transport);
    const consumer = await transport.consume({ producerId: producer.id, rtpCapabilities: router.rtpCapabilities });
    let last = -1;
    consumer.on('rtp', (packet: Buffer) => {
      const ts = packet.readUInt32BE(4);
      if (ts !== last) counter.timestamps.push({ at: Date.now(), ts });
      last = ts;
    });
    return counter;
  }
  fps(from: number, to: number): number {
    return this.timestamps.filter((t) => t.at >= from && t.at < to).length / ((to - from) / 1000);
  }
  close(): void {
    this.transport.close();
  }
}

describe('camera health prober', function () {
  this.timeout(120_000);
  let sim: Simulator;
  let t: TestApp;
  const codes = { bulk: [] as string[], down: [] as string[], wrong: [] as string[], right: [] as string[] };

  before(async () => {
    sim = await Simulator.start({
      config: {
        cameras: [
          { bulk: { prefix: 'bulk-', count: BULK, width: 160, height: 90, fps: 5, codec: 'h264', profile: 'baseline' } },
          { id: 'cam-secure', tag: 81, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 10, auth: { user: 'viewer', password: 'Right-Pa55', method: 'digest' } },
          { id: 'cam-live', tag: 82, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 25, gop: 25 },
        ],
      },
    });
    const closedPort = await freePort();
    const cameras = [];
    for (let i = 1; i <= BULK; i++) cameras.push({ id: `bulk-${i}`, name: `Bulk ${i}`, url: sim.url(`bulk-${i}`) }), codes.bulk.push(`bulk-${i}`);
    for (let i = 1; i <= 5; i++) cameras.push({ id: `down-${i}`, name: `Down ${i}`, url: `rtsp://127.0.0.1:${closedPort}/down-${i}` }), codes.down.push(`down-${i}`);
    for (let i = 1; i <= 3; i++) cameras.push({ id: `wrong-${i}`, name: `Wrong ${i}`, url: sim.url('cam-secure'), username: 'viewer', password: `nope-${i}` }), codes.wrong.push(`wrong-${i}`);
    cameras.push({ id: 'right-1', name: 'Right', url: sim.url('cam-secure'), username: 'viewer', password: 'Right-Pa55' });
    codes.right.push('right-1');
    cameras.push({ id: 'cam-live', name: 'Live', url: sim.url('cam-live') });
    t = await startTestApp({ cameras, health: { concurrency: 8, maxPerSecond: 1000, timeoutMs: 3000, intervalMs: 60_000 } });
  });
  after(async () => {
    await t?.close();
    await sim?.stop();
  });

  const healthOf = async (code: string) => (await t.app.catalog.repository.findByCode(code))?.health?.status;

  it('probes 200 endpoints with bounded concurrency, gets every status right, and leaves a live view alone', async () => {
    const lease = await t.app.cameras.acquire('cam-live');
    const counter = await FrameCounter.attach(lease.feed!.host.router, lease.feed!.producer);
    try {
      await new Promise((resolve) => setTimeout(resolve, 4000));
      const baselineEnd = Date.now();
      const started = Date.now();
      await t.app.prober.runRound();
      const took = Date.now() - started;
      const duringEnd = Date.now();
      const baseline = counter.fps(baselineEnd - 3000, baselineEnd);
      const during = counter.fps(started, duringEnd);
      const probes = t.app.prober.stats.probes;
      console.log(`      ${probes} probes in ${took} ms (${((probes / took) * 1000).toFixed(0)}/s), max ${t.app.prober.stats.maxInFlight} in flight; live view ${baseline.toFixed(1)} fps before, ${during.toFixed(1)} fps during`);
      expect(probes).to.equal(BULK + 5 + 3 + 1);
      expect(t.app.prober.stats.maxInFlight).to.be.at.most(8).and.at.least(2);
      expect(baseline).to.be.within(23, 27);
      expect(Math.abs(during - baseline)).to.be.lessThan(2.5);
    } finally {
      counter.close();
      lease.release();
    }
    for (const code of codes.bulk) expect(await healthOf(code), code).to.equal('reachable');
    for (const code of codes.down) expect(await healthOf(code), code).to.equal('unreachable');
    for (const code of codes.wrong) expect(await healthOf(code), code).to.equal('unauthorized');
    expect(await healthOf('right-1')).to.equal('reachable');
    expect(await healthOf('cam-live')).to.equal('reachable');
  });

  it('stores a status only when it changes, backs off unreachable cameras, and tells the fleet counts', async () => {
    const before = await t.app.catalog.repository.findByCode('bulk-1');
    const probesBefore = t.app.prober.stats.probes;
    await t.app.prober.runRound();
    // Nothing was due yet (interval 60 s): no probe, no write.
    expect(t.app.prober.stats.probes).to.equal(probesBefore);
    const after = await t.app.catalog.repository.findByCode('bulk-1');
    expect(after?.health?.since.getTime()).to.equal(before?.health?.since.getTime());
    expect(after?.updatedAt.getTime()).to.equal(before?.updatedAt.getTime());
    const page = await t.app.catalog.fleetPage({ offset: 0, limit: 10 });
    expect(page.healthCounts).to.deep.equal({ reachable: BULK + 2, unauthorized: 3, locked_out: 0, busy: 0, unreachable: 5, unknown: 0 });
    const unreachable = await t.app.catalog.fleetPage({ health: 'unreachable', offset: 0, limit: 10 });
    expect(unreachable.items.map((c) => c.code)).to.deep.equal(codes.down);
  });

  it('notices a camera that went down and came back', async () => {
    await sim.drop('bulk-7');
    const camera = (await t.app.catalog.repository.findByCode('bulk-7'))!;
    const events: string[] = [];
    t.app.prober.on('health', ({ camera: c, health }) => c.code === 'bulk-7' && events.push(health.status));
    await t.app.prober.checkNow(camera.id);
    expect(await healthOf('bulk-7')).to.equal('unreachable');
    await sim.restore('bulk-7');
    await t.app.prober.checkNow(camera.id);
    expect(await healthOf('bulk-7')).to.equal('reachable');
    expect(events).to.deep.equal(['unreachable', 'reachable']);
  });
});
