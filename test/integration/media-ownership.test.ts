import { expect } from 'chai';
import type { types } from 'mediasoup';
import { MediaWorkerPool } from '../../server/media/MediaWorkerPool.ts';
import type { CameraFeed } from '../../server/media/CameraFeed.ts';
import type { ViewerMedia } from '../../server/media/ViewerMedia.ts';
import type { IngestDescription } from '../../workers/Ingest.ts';
import { LogCapture } from '../support/LogCapture.ts';
import { configSchema } from '../../server/config/schema.ts';

const description = (ssrc: number): IngestDescription => ({
  codec: { mimeType: 'video/H264', clockRate: 90000, payloadType: 102, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 } },
  ssrc,
  engine: 'ffmpeg',
  source: { codec: 'h264', hasBFrames: false },
});

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('media ownership (real mediasoup workers)', function () {
  let pool: MediaWorkerPool;
  const events: string[] = [];

  beforeEach(async () => {
    events.length = 0;
    pool = await MediaWorkerPool.create({
      workers: 2,
      settings: { logLevel: 'warn', listenIp: '127.0.0.1', webRtcPort: 0, rtcMinPort: 40000, rtcMaxPort: 49999 },
      logger: new LogCapture().logger,
      cpuSampleMs: 200,
    });
    pool.observer.on('newfeed', (feed) => {
      events.push(`newfeed ${feed.cameraId}`);
      feed.observer.once('close', () => events.push(`feed closed ${feed.cameraId}`));
    });
    pool.observer.on('newviewer', (viewer) => {
      events.push(`newviewer ${viewer.worker.index}`);
      viewer.observer.on('close', () => events.push(`viewer closed ${viewer.worker.index}`));
    });
  });

  afterEach(() => pool.close());

  const load = () => pool.workers.map((worker) => ({ cameras: worker.hostedCameras, consumers: worker.consumers }));

  async function viewerWatching(feed: CameraFeed): Promise<ViewerMedia> {
    const viewer = pool.createViewerMedia();
    await viewer.createTransport({});
    await viewer.consume(feed, pool.rtpCapabilities as types.RtpCapabilities);
    return viewer;
  }

  it('workers create feeds and viewers, keep them in sets, derive their load from them, and report to observers', async () => {
    const a = await pool.createCameraFeed('CAM-A', description(1111));
    const b = await pool.createCameraFeed('CAM-B', description(2222));
    // Least loaded placement: the second camera goes to the other worker.
    expect(a.host.index).to.not.equal(b.host.index);
    expect(load().map((l) => l.cameras)).to.deep.equal([1, 1]);

    const viewers = [await viewerWatching(a), await viewerWatching(a), await viewerWatching(b)];
    expect(load().reduce((sum, l) => sum + l.consumers, 0)).to.equal(3);
    expect(a.consumerCount).to.equal(2);
    expect(b.consumerCount).to.equal(1);
    const stats = await a.getStats();
    expect(stats.consumers).to.equal(2);
    expect(stats.inPackets).to.equal(0);

    viewers[0]!.close();
    await until('consumer counts to follow a closed viewer', () => a.consumerCount === 1);
    expect(load().reduce((sum, l) => sum + l.consumers, 0)).to.equal(2);

    // A feed closing by itself takes its consumers (on any worker) with it.
    a.close();
    await until('the consumers of a closed feed to go', () => load().reduce((sum, l) => sum + l.consumers, 0) === 1);
    expect(a.closed).to.equal(true);
    for (const viewer of viewers) viewer.close();
    b.close();
    expect(load()).to.deep.equal([
      { cameras: 0, consumers: 0 },
      { cameras: 0, consumers: 0 },
    ]);
    expect(events.filter((e) => e.startsWith('newfeed'))).to.deep.equal(['newfeed CAM-A', 'newfeed CAM-B']);
    expect(events.filter((e) => e.startsWith('feed closed')).sort()).to.deep.equal(['feed closed CAM-A', 'feed closed CAM-B']);
    expect(events.filter((e) => e.startsWith('newviewer'))).to.have.length(3);
    expect(events.filter((e) => e.startsWith('viewer closed'))).to.have.length(3);
  });

  it('a worker that dies tells its feeds and viewers "your host closed"; the replacement starts empty', async () => {
    const feed = await pool.createCameraFeed('CAM-D', description(3333));
    const host = pool.workers[feed.host.index]!;
    // One viewer on the feed's own worker, one on the other worker (through a router pipe).
    const local = host.createViewerMedia();
    await local.createTransport({});
    await local.consume(feed, pool.rtpCapabilities as types.RtpCapabilities);
    const remote = await viewerWatching(feed);
    expect(remote.worker.index).to.not.equal(host.index);
    const localTransportClosed = new Promise<void>((resolve) => local.on('transportclosed', () => resolve()));
    const remoteConsumerClosed = new Promise<void>((resolve) => remote.on('consumerclosed', () => resolve()));
    let feedClosed = 0;
    feed.onClose(() => feedClosed++);
    // The feed must take its "host closed" path: mediasoup closed the transport, the feed does not.
    let transportClosedByFeed = 0;
    const closeTransport = feed.transport.close.bind(feed.transport);
    feed.transport.close = () => {
      transportClosedByFeed++;
      closeTransport();
    };

    process.kill(host.pid, 'SIGKILL');
    await until('the feed to learn its host closed', () => feed.closed);
    await localTransportClosed;
    await remoteConsumerClosed;
    expect(feedClosed).to.equal(1);
    expect(transportClosedByFeed, 'the feed closed a transport mediasoup had closed').to.equal(0);
    expect(local.usable).to.equal(false);
    expect(remote.usable, 'a viewer on a live worker stays usable').to.equal(true);
    expect(host.hostedCameras).to.equal(0);
    expect(host.consumers).to.equal(0);
    expect(events).to.include('feed closed CAM-D');
    // A second close of the feed (its owner's) is harmless.
    feed.close();
    expect(feedClosed).to.equal(1);
    local.close();
    remote.close();
    await until('the dead worker to be replaced', () => pool.workers[host.index] !== host && !pool.workers[host.index]!.closed);
    expect(load()).to.deep.equal([
      { cameras: 0, consumers: 0 },
      { cameras: 0, consumers: 0 },
    ]);
  });

  it('the pool is the one sampler of worker CPU; metrics only read it', async () => {
    const worker = pool.workers[0]!;
    // The pool's timer (200 ms here) samples every worker; two samples make a CPU share.
    await until('a first CPU sample', () => worker.cpuSampledAt !== undefined, 5000);
    const first = worker.cpuSampledAt!;
    await until('a second CPU sample', () => (worker.cpuSampledAt ?? 0) > first, 5000);
    expect(worker.cpu).to.be.at.least(0).and.below(2);
    expect(Object.getOwnPropertyDescriptor(Object.getPrototypeOf(worker), 'cpu')?.set, 'cpu is read-only').to.equal(undefined);
    // A metrics sample reads the figure without taking a sample of its own.
    const { Metrics } = await import('../../server/metrics/Metrics.ts');
    const { CameraManager } = await import('../../server/cameras/CameraManager.ts');
    const logger = new LogCapture().logger;
    const cameras = new CameraManager({ get: async () => undefined, list: async () => [] }, {
      logger,
      timing: configSchema.parse({}).ingest,
      createIngest: () => {
        throw new Error('no ingest in this test');
      },
      createFeed: () => Promise.reject(new Error('no feed in this test')),
    });
    const metrics = new Metrics({ cameras, media: pool, repository: { count: async () => 0 } as never, logger, sampleEveryMs: 60_000 });
    try {
      const before = worker.cpuSampledAt;
      await metrics.sample();
      expect(worker.cpuSampledAt).to.equal(before);
      expect(await metrics.registry.getSingleMetricAsString('c5_worker_cpu_ratio')).to.match(/c5_worker_cpu_ratio\{worker="0"\} /);
    } finally {
      await metrics.close();
      await cameras.close();
    }
  });
});
