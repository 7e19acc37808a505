import dgram from 'node:dgram';
import { readdirSync } from 'node:fs';
import { expect } from 'chai';
import { RelayIngest } from '../../workers/RelayIngest.ts';
import { udpBatchAddon } from '../../workers/relay/native/udpBatch.ts';
import { ScriptedCamera } from '../support/ScriptedCamera.ts';

/**
 * The native relay's life cycle (issue 20): relays opened and closed, some in the middle of SETUP
 * and PLAY, leave no descriptor behind (receive sockets, output sockets); one ingest stopped and
 * started again without waiting keeps the native path, errs never, and leaks nothing.
 */
const addon = udpBatchAddon(() => undefined);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fds = () => readdirSync('/proc/self/fd').length;

describe('relay native path: life cycle (issue 20)', function () {
  this.timeout(120_000);
  before(function () { if (!addon) this.skip(); });
  let camera: ScriptedCamera;
  let rtp: dgram.Socket;
  let rtcp: dgram.Socket;
  beforeEach(async () => {
    camera = await ScriptedCamera.start({ video: { width: 320, height: 180, fps: 25, gop: 25, slices: 1 }, udp: 'ok' });
    rtp = dgram.createSocket('udp4');
    rtcp = dgram.createSocket('udp4');
    await Promise.all([rtp, rtcp].map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', r))));
  });
  afterEach(async () => { rtp.close(); rtcp.close(); await camera.stop(); });
  const target = () => ({ ip: '127.0.0.1', rtpPort: rtp.address().port, rtcpPort: rtcp.address().port });

  it('20 open/start/flowing/close cycles leave no descriptors', async () => {
    // warm-up (loads the addon, creates the epoll fd)
    const warm = new RelayIngest({ camera: { id: 'warm', url: camera.url(), transport: 'udp' }, timeoutMs: 3000, stallTimeoutMs: 3000, highProfile: 'relabel' });
    await warm.open(); warm.start(target()); await new Promise<void>((r) => warm.once('flowing', () => r())); await warm.close();
    await sleep(300);
    const before = fds();
    for (let i = 0; i < 20; i++) {
      const relay = new RelayIngest({ camera: { id: `c${i}`, url: camera.url(), transport: 'udp' }, timeoutMs: 3000, stallTimeoutMs: 3000, highProfile: 'relabel' });
      await relay.open();
      relay.start(target());
      if (i % 2 === 0) await new Promise<void>((r) => relay.once('flowing', () => r()));
      else await sleep(i % 4 === 1 ? 0 : 15); // close in the middle of SETUP/PLAY
      await relay.close();
    }
    await sleep(500);
    const after = fds();
    expect(after, `descriptors before ${before}, after ${after}`).to.be.at.most(before + 1);
  });

  it('stop/open/start churn on one ingest, no await between stop and restart', async () => {
    const before = fds();
    const relay = new RelayIngest({ camera: { id: 'churn', url: camera.url(), transport: 'udp' }, timeoutMs: 3000, stallTimeoutMs: 3000, highProfile: 'relabel' });
    const errors: unknown[] = [];
    relay.on('error', (e) => errors.push(e));
    await relay.open();
    relay.start(target());
    await new Promise<void>((r) => relay.once('flowing', () => r()));
    for (let i = 0; i < 10; i++) {
      const stopping = relay.stop();
      if (i % 2) await stopping;
      await relay.open();
      await stopping;
      const flowing = new Promise<void>((r) => relay.once('flowing', () => r()));
      relay.start(target());
      await Promise.race([flowing, sleep(4000).then(() => { throw new Error(`run ${i} never flowed (path ${relay.receivePath})`); })]);
      expect(relay.receivePath).to.equal('native');
    }
    await sleep(1500);
    expect(relay.nativeStats!.sent.packets).to.be.greaterThan(0);
    await relay.close();
    await sleep(300);
    expect(errors).to.deep.equal([]);
    // The churn's sockets are all closed (the relay's own output sockets with it).
    expect(fds(), `descriptors before the churn ${before}`).to.be.at.most(before);
  });
});
