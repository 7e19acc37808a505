import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { expect } from 'chai';
import { ScriptedCamera } from '../support/ScriptedCamera.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { connectClient, ok, type ClientSocket } from '../support/signallingClient.ts';
import { waitFor } from '../support/processes.ts';

const CAMERAS = ['iw-1', 'iw-2', 'iw-3', 'iw-4'];

/** Inodes of the UDP sockets (IPv4 and IPv6) open in process `pid`. */
function udpSockets(pid: number | 'self'): Set<string> {
  const udp = new Set<string>();
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode && inode !== '0') udp.add(inode);
    }
  }
  const owned = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1];
      if (inode && udp.has(inode)) owned.add(inode);
    } catch {
      // The descriptor closed meanwhile.
    }
  }
  return owned;
}

describe('ingest worker processes (issue 20)', function () {
  this.timeout(120_000);
  let t: TestApp;
  const cams: ScriptedCamera[] = [];
  const sockets: ClientSocket[] = [];

  before(async () => {
    for (let i = 0; i < CAMERAS.length; i++) cams.push(await ScriptedCamera.start({ video: { width: 320, height: 180, fps: 25, gop: 25, slices: 1 } }));
    t = await startTestApp({
      cameras: CAMERAS.map((id, i) => ({ id, name: `Worker camera ${i + 1}`, url: cams[i]!.url() })),
      ingest: { workers: 2 },
    });
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
  });
  after(async () => {
    await t?.close();
    for (const cam of cams) await cam.stop();
  });

  it('places the cameras on the least loaded worker, and their RTP goes from the workers to mediasoup, never through the server process', async () => {
    const pool = t.app.ingestWorkers!;
    expect(pool.workers().map((w) => w.alive)).to.deep.equal([true, true]);
    const serverUdpBefore = udpSockets('self').size;
    const workerUdpBefore = pool.workers().map((w) => udpSockets(w.pid).size);
    const leases = await Promise.all(CAMERAS.map((id) => t.app.cameras.acquire(id)));
    try {
      await waitFor(() => pool.workers().every((w) => w.cameras === 2), 5000, 'each worker reports two cameras');
      expect(udpSockets('self').size, 'no UDP socket opened in the server process').to.equal(serverUdpBefore);
      // Each relayed camera: its RTP and RTCP source sockets, in the worker that carries it.
      pool.workers().forEach((w, i) => expect(udpSockets(w.pid).size - workerUdpBefore[i]!, `worker ${i}`).to.be.at.least(4));
      for (const w of pool.workers()) {
        console.log(`      worker ${w.index} (pid ${w.pid}): ${w.cameras} cameras, CPU ${(w.cpuRatio * 100).toFixed(1)}%, RSS ${(w.residentBytes / 2 ** 20).toFixed(1)} MB, private ${(w.privateBytes / 2 ** 20).toFixed(1)} MB`);
        expect(w.residentBytes).to.be.greaterThan(10 * 2 ** 20);
        expect(w.privateBytes).to.be.greaterThan(0).and.at.most(w.residentBytes);
      }
    } finally {
      for (const lease of leases) lease.release();
    }
    await waitFor(() => pool.workers().every((w) => w.cameras === 0), 5000, 'every worker back to zero cameras');
    pool.workers().forEach((w, i) => expect(udpSockets(w.pid).size, `worker ${i} sockets back to before`).to.equal(workerUdpBefore[i]));
  });

  it('a worker killed mid-stream is replaced; its cameras come back on new feeds and their viewers are told to re-subscribe; the other worker\'s viewers see nothing', async () => {
    const pool = t.app.ingestWorkers!;
    const socket = await connectClient(t.app.consoleUrl, await t.token('operator'));
    sockets.push(socket);
    const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
    const { transport } = await ok(socket, 'createTransport', {});
    const consumers = new Map<string, string>();
    for (const cameraId of CAMERAS) consumers.set(cameraId, (await ok(socket, 'consume', { transportId: transport.id, cameraId, rtpCapabilities })).consumer.id);
    await waitFor(() => pool.workers().every((w) => w.cameras === 2), 5000, 'each worker reports two cameras');
    const closed: Array<{ cameraId: string; reason: string }> = [];
    const live = new Map<string, number>();
    socket.on('consumerClosed', (event) => closed.push({ cameraId: event.cameraId, reason: event.reason }));
    socket.on('cameraState', (status) => {
      if (status.state === 'live') live.set(status.cameraId, Date.now());
    });
    const victim = pool.worker(0)!;
    const victimPid = victim.pid;
    const killedAt = Date.now();
    victim.kill();
    await waitFor(() => closed.length >= 2, 10_000, 'the dead worker\'s viewers told');
    const moved = closed.map((event) => event.cameraId).sort();
    await waitFor(() => moved.every((id) => (live.get(id) ?? 0) > killedAt), 20_000, 'the dead worker\'s cameras live again');
    const backAfter = Math.max(...moved.map((id) => live.get(id)! - killedAt));
    // The viewer re-subscribes, as the console does on consumerClosed.
    for (const cameraId of moved) {
      const again = await ok(socket, 'consume', { transportId: transport.id, cameraId, rtpCapabilities });
      expect(again.consumer.id).to.not.equal(consumers.get(cameraId));
    }
    await waitFor(() => pool.workers()[0]!.alive, 10_000, 'the replacement worker');
    const replaced = pool.workers()[0]!;
    console.log(`      worker pid ${victimPid} killed: ${moved.length} cameras (${moved.join(', ')}) live again ${backAfter} ms later; replacement pid ${replaced.pid}`);
    expect(moved).to.have.length(2);
    expect(closed.every((event) => event.reason !== 'withdrawn' && event.reason !== 'forbidden')).to.equal(true);
    expect(replaced.pid).to.not.equal(victimPid);
    expect(replaced.restarts).to.equal(1);
    expect(() => process.kill(victimPid, 0)).to.throw();
    expect(backAfter).to.be.lessThan(15_000);
    // The other worker's cameras kept their consumers.
    for (const cameraId of CAMERAS.filter((id) => !moved.includes(id))) {
      expect((await ok(socket, 'resumeConsumer', { consumerId: consumers.get(cameraId)! }))).to.not.have.property('error');
    }
  });
});
