import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { projectRoot } from '../../server/toolchain.ts';
import { cameraCreateSchema } from '../../server/catalog/cameraSchemas.ts';
import { Simulator } from '../support/simulator.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { connectClient, ok, type ClientSocket } from '../support/signallingClient.ts';
import { waitFor } from '../support/processes.ts';

/** Parses the Prometheus text format into name{labels} -> value. */
function parse(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

describe('Prometheus metrics and health endpoints', function () {
  this.timeout(90_000);
  let sim: Simulator;
  let t: TestApp;
  const sockets: ClientSocket[] = [];
  const scrape = async () => {
    const res = await fetch(`${t.app.consoleUrl}/metrics`);
    return { status: res.status, text: await res.text() };
  };
  const value = (series: Map<string, number>, key: string) => series.get(key);

  before(async () => {
    sim = await Simulator.start({ config: { cameras: [{ id: 'cam-m', tag: 111, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 25, gop: 25, bitrateKbps: 400 }] } });
    t = await startTestApp({ media: { workers: 2 }, cameras: [{ id: 'cam-m', name: 'Metered', url: sim.url('cam-m') }] });
  });
  after(async () => {
    for (const socket of sockets) socket.close();
    await t?.close();
    await sim?.stop();
  });

  it('shows a watched camera: bitrate, fps, RTP in and out, consumers = viewers, worker CPU and memory, requests', async () => {
    for (let i = 0; i < 2; i++) {
      const socket = await connectClient(t.app.consoleUrl, await t.token('operator'));
      sockets.push(socket);
      const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
      const { transport } = await ok(socket, 'createTransport', {});
      const { consumer } = await ok(socket, 'consume', { transportId: transport.id, cameraId: 'cam-m', rtpCapabilities });
      await ok(socket, 'resumeConsumer', { consumerId: consumer.id });
      await ok(socket, 'reportFirstFrame', { cameraId: 'cam-m', ms: 640 });
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await t.app.metrics.sample();
    const first = parse((await scrape()).text);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await t.app.metrics.sample();
    const { status, text } = await scrape();
    expect(status).to.equal(200);
    const now = parse(text);
    expect(value(now, 'c5_camera_ingest_bitrate_bits_per_second{camera="cam-m"}')).to.be.greaterThan(0);
    expect(value(now, 'c5_camera_ingest_frames_per_second{camera="cam-m"}')).to.be.greaterThan(10);
    expect(value(now, 'c5_camera_ingest_state{camera="cam-m",state="live"}')).to.equal(1);
    // What carries the live camera in this run: one series, at 1, labelled as its status says.
    const engine = t.app.cameras.status('cam-m')?.engine;
    expect(engine).to.be.oneOf(['relay', 'ffmpeg']);
    expect([...now.entries()].filter(([key]) => key.startsWith('c5_camera_engine{'))).to.deep.equal([[`c5_camera_engine{camera="cam-m",engine="${engine}"}`, 1]]);
    expect(value(now, 'c5_camera_viewers{camera="cam-m"}')).to.equal(2);
    expect(value(now, 'c5_camera_consumers{camera="cam-m"}')).to.equal(2);
    expect(value(now, 'c5_camera_rtp_received_bytes{camera="cam-m"}')!).to.be.greaterThan(value(first, 'c5_camera_rtp_received_bytes{camera="cam-m"}')!);
    // These viewers never complete ICE (no browser), so nothing is sent yet: the series exists, at 0.
    expect(value(now, 'c5_camera_rtp_sent_bytes{camera="cam-m"}')).to.equal(0);
    expect(value(now, 'c5_camera_seconds_since_last_frame{camera="cam-m"}')).to.be.lessThan(5);
    expect(value(now, 'c5_cameras_live')).to.equal(1);
    expect(value(now, 'c5_signalling_connections')).to.equal(2);
    expect(value(now, 'c5_signalling_requests_total{request="consume"}')).to.be.at.least(2);
    expect(value(now, 'c5_time_to_first_frame_seconds_count')).to.equal(2);
    const workerConsumers = [...now.entries()].filter(([key]) => key.startsWith('c5_worker_consumers{')).reduce((sum, [, v]) => sum + v, 0);
    expect(workerConsumers).to.be.at.least(2);
    expect([...now.keys()].some((key) => key.startsWith('c5_worker_memory_bytes{'))).to.equal(true);
    expect([...now.entries()].find(([key]) => key.startsWith('c5_worker_cpu_ratio{'))?.[1]).to.be.a('number');
    expect(value(now, 'process_resident_memory_bytes')).to.be.greaterThan(0);
    expect([...now.keys()].some((key) => key.startsWith('c5_http_request_duration_seconds_bucket{'))).to.equal(true);
    expect(text).to.not.contain('rtsp://');
  });

  it('answers a scrape at once while a media worker is stuck', async () => {
    const worker = t.app.media.workers[0]!;
    process.kill(worker.pid, 'SIGSTOP');
    try {
      const sampling = t.app.metrics.sample(); // waits on the stopped worker
      const started = Date.now();
      const { status } = await scrape();
      const took = Date.now() - started;
      console.log(`      scrape with a stopped worker: ${took} ms`);
      expect(status).to.equal(200);
      expect(took).to.be.lessThan(1000);
      void sampling;
    } finally {
      process.kill(worker.pid, 'SIGCONT');
    }
  });

  it('removes a camera\'s series once it stops', async () => {
    for (const socket of sockets.splice(0)) socket.close();
    await waitFor(() => t.app.cameras.status('cam-m')?.state === 'idle', 15_000, 'camera idle');
    await t.app.metrics.sample();
    const { text } = await scrape();
    expect(text).to.not.contain('camera="cam-m"');
    expect(parse(text).get('c5_cameras_live')).to.equal(0);
  });

  it('serves /healthz and /readyz, and is not ready when the catalog does not answer', async () => {
    expect((await fetch(`${t.app.consoleUrl}/healthz`)).status).to.equal(200);
    expect((await fetch(`${t.app.consoleUrl}/readyz`)).status).to.equal(200);
    // The embedded store cannot be made unreachable from outside: make it fail the way an
    // unreachable MongoDB does (the query rejects).
    const repository = t.app.catalog.repository;
    const original = repository.count.bind(repository);
    repository.count = () => Promise.reject(new Error('connection refused'));
    try {
      const res = await fetch(`${t.app.consoleUrl}/readyz`);
      expect(res.status).to.equal(503);
      expect(((await res.json()) as { status: string }).status).to.equal('not_ready');
    } finally {
      repository.count = original;
    }
    expect((await fetch(`${t.app.consoleUrl}/readyz`)).status).to.equal(200);
  });

  it('counts approved cameras by every health status, the new ones (locked_out, busy) included, each series present at 0', async () => {
    const health = (series: Map<string, number>, status: string) => value(series, `c5_cameras_by_health{status="${status}"}`);
    await t.app.metrics.sample();
    const before = parse((await scrape()).text);
    for (const status of ['reachable', 'unauthorized', 'locked_out', 'busy', 'unreachable']) expect(health(before, status), status).to.equal(0);
    expect(health(before, 'unknown')).to.equal(1); // cam-m, never probed here
    const since = new Date();
    const statuses = ['busy', 'busy', 'locked_out', 'unauthorized', 'reachable'] as const;
    for (const [i, status] of statuses.entries()) {
      const camera = await t.app.catalog.create(
        cameraCreateSchema.parse({ code: `MET-${i}`, name: `Metered ${i}`, area: 'agency', owner: { kind: 'organisation', name: 'SSC' }, category: 'street', municipality: 'Tlalpan', mainUrl: `rtsp://10.9.9.${i + 1}:554/main` }),
        { status: 'approved' },
      );
      await t.app.catalog.repository.setHealth(camera.id, { status, since, message: `probed ${status}`, ...(status === 'reachable' && { stream: { codec: 'h264', width: 1280, height: 720 } }) });
    }
    // A pending camera is not counted, whatever its health.
    const pending = await t.app.catalog.create(cameraCreateSchema.parse({ code: 'MET-P', name: 'Pending', area: 'agency', owner: { kind: 'organisation', name: 'SSC' }, category: 'street', municipality: 'Tlalpan', mainUrl: 'rtsp://10.9.9.99:554/main' }));
    await t.app.catalog.repository.setHealth(pending.id, { status: 'busy', since });
    await t.app.metrics.sample();
    const after = parse((await scrape()).text);
    expect(Object.fromEntries(['reachable', 'unauthorized', 'locked_out', 'busy', 'unreachable', 'unknown'].map((status) => [status, health(after, status)]))).to.deep.equal({
      reachable: 1,
      unauthorized: 1,
      locked_out: 1,
      busy: 2,
      unreachable: 0,
      unknown: 1,
    });
  });

  it('exposes every metric the Grafana dashboard queries', async function () {
    const listPath = join(projectRoot, 'docker', 'metrics.json');
    if (!existsSync(listPath)) this.skip();
    const names = JSON.parse(readFileSync(listPath, 'utf8')) as string[];
    const socket = await connectClient(t.app.consoleUrl, await t.token('operator'));
    sockets.push(socket);
    const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
    const { transport } = await ok(socket, 'createTransport', {});
    await ok(socket, 'consume', { transportId: transport.id, cameraId: 'cam-m', rtpCapabilities });
    await t.app.metrics.sample();
    const { text } = await scrape();
    const declared = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    for (const name of names) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      expect(declared.has(name) || declared.has(base), name).to.equal(true);
    }
  });
});
