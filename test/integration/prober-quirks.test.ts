import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { RtspClient } from '../../workers/rtsp.ts';
import { ScriptedCamera, type ScriptedCameraOptions } from '../support/ScriptedCamera.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { SecretsScan } from '../support/SecretsScan.ts';

const USER = 'viewer';
const PASSWORD = 'Right-Pa55';

/**
 * The health prober on the RTSP client, against cameras with real quirks: every Digest variant, auth
 * demanded only at SETUP, redirects, a camera that is busy, one that locks us out, and the login guard
 * that the prober and the ingest share (a refusing camera is not asked again until its backoff ends).
 */
describe('camera health prober against quirky cameras', function () {
  this.timeout(60_000);
  let t: TestApp;
  const cams = new Map<string, ScriptedCamera>();
  const specs: Array<[string, ScriptedCameraOptions, { password?: string; path?: string; username?: string; engine?: 'ffmpeg' }]> = [
    ['md5-sess', { auth: { username: USER, password: PASSWORD, schemes: ['digest-md5-sess'], qop: true } }, {}],
    ['sha256', { auth: { username: USER, password: PASSWORD, schemes: ['basic', 'digest-sha256'], qop: true } }, {}],
    ['setup-auth-wrong', { auth: { username: USER, password: PASSWORD, schemes: ['digest-md5'], demandAt: 'SETUP' } }, { password: 'wrong-one' }],
    ['setup-auth-right', { auth: { username: USER, password: PASSWORD, schemes: ['digest-md5'], demandAt: 'SETUP' } }, {}],
    ['redirecting', { redirects: { '/old': '/stream' } }, { path: '/old' }],
    ['loop', { redirects: { '/a': '/b', '/b': '/a' } }, { path: '/a' }],
    ['wrong', { auth: { username: USER, password: PASSWORD, schemes: ['digest-md5'], qop: true } }, { password: 'not-it' }],
    ['lockout', { auth: { username: USER, password: PASSWORD, schemes: ['digest-md5'], lockoutAfter: 1 } }, { password: 'not-it' }],
    ['busy', { maxSessions: 1, sessionTimeoutSec: 30 }, {}],
    ['sha256-ffmpeg', { auth: { username: USER, password: PASSWORD, schemes: ['digest-sha256'], qop: true } }, { engine: 'ffmpeg' }],
  ];

  before(async () => {
    const cameras = [];
    for (const [code, options, connect] of specs) {
      const cam = await ScriptedCamera.start({ video: { width: 640, height: 360, fps: 10, gop: 10, slices: 2 }, ...options });
      cams.set(code, cam);
      const credentials = options.auth ? { username: connect.username ?? USER, password: connect.password ?? PASSWORD } : {};
      cameras.push({ id: code, name: code, url: cam.url(connect.path), ...credentials, ...(connect.engine && { engine: connect.engine }) });
    }
    t = await startTestApp({ cameras, health: { concurrency: 4, maxPerSecond: 1000, timeoutMs: 3000, intervalMs: 60_000 }, ingest: { authBackoffMs: 1500, authBackoffMaxMs: 60_000 } });
  });
  after(async () => {
    await t?.close();
    await Promise.all([...cams.values()].map((cam) => cam.stop()));
  });

  const health = async (code: string) => (await t.app.catalog.repository.findByCode(code))?.health;
  const check = async (code: string) => t.app.prober.checkNow((await t.app.catalog.repository.findByCode(code))!.id);

  it('gets every quirky camera right in one round, and TEARDOWNs every session it opened', async () => {
    // Occupy the busy camera's only session first.
    const occupant = new RtspClient({ url: cams.get('busy')!.url(), timeoutMs: 3000 });
    const description = await occupant.describe();
    await occupant.setup(description.tracks[0]!);
    await occupant.play();
    try {
      await t.app.prober.runRound();
    } finally {
      await occupant.close();
    }
    expect((await health('md5-sess'))?.status).to.equal('reachable');
    expect((await health('sha256'))?.status).to.equal('reachable');
    expect((await health('sha256'))?.message).to.include('digest-sha256');
    expect((await health('setup-auth-wrong'))?.status).to.equal('unauthorized');
    expect((await health('setup-auth-right'))?.status).to.equal('reachable');
    expect((await health('redirecting'))?.status).to.equal('reachable');
    expect((await health('redirecting'))?.redirectedTo).to.equal(cams.get('redirecting')!.url('/stream'));
    expect((await health('loop'))?.status).to.equal('unreachable');
    expect((await health('loop'))?.message).to.match(/^redirect_loop/);
    expect(cams.get('loop')!.stats.describes).to.be.at.most(8);
    expect((await health('wrong'))?.status).to.equal('unauthorized');
    expect((await health('busy'))?.status).to.equal('busy');
    for (const code of ['md5-sess', 'sha256', 'setup-auth-right', 'redirecting']) {
      expect((await health(code))?.stream, code).to.deep.include({ codec: 'h264', width: 640, height: 360 });
    }
    for (const [code, cam] of cams) {
      if (code === 'busy') continue;
      expect(cam.stats.activeSessions, `${code} sessions left open`).to.equal(0);
      expect(cam.stats.teardowns, code).to.equal(cam.stats.sessionsStarted);
    }
    const view = await t.app.catalog.view((await t.app.catalog.repository.findByCode('redirecting'))!);
    expect(view.health?.stream).to.deep.include({ codec: 'h264', width: 640, height: 360 });
    expect(JSON.stringify(view)).not.to.include(PASSWORD);
  });

  it('a refused login is not retried by the prober or a viewer until the backoff ends (one failed login, not a storm)', async () => {
    const cam = cams.get('wrong')!;
    const failures = cam.stats.authFailures;
    const describes = cam.stats.describes;
    expect(failures).to.equal(1);
    await check('wrong');
    await check('wrong');
    expect(cam.stats.describes).to.equal(describes);
    const error = await t.app.cameras.acquire('wrong').then(
      () => undefined,
      (e: Error & { details?: { reason?: string } }) => e,
    );
    expect(error?.details?.reason).to.equal('unauthorized');
    expect(cam.stats.describes, 'the viewer must not contact the camera').to.equal(describes);
    expect(cam.stats.authFailures).to.equal(1);
    // After the backoff (1.5 s here), one more try.
    await new Promise((resolve) => setTimeout(resolve, 1600));
    await check('wrong');
    expect(cam.stats.authFailures).to.equal(2);
  });

  it('new credentials lift the backoff at once', async () => {
    const cam = cams.get('wrong')!;
    const describes = cam.stats.describes;
    const camera = (await t.app.catalog.repository.findByCode('wrong'))!;
    await t.app.catalog.update(camera.id, { credentials: { username: USER, password: PASSWORD } });
    await check('wrong');
    expect(cam.stats.describes).to.be.greaterThan(describes);
    expect((await health('wrong'))?.status).to.equal('reachable');
  });

  it('a 403 after refused logins is locked_out', async () => {
    expect((await health('lockout'))?.status).to.equal('unauthorized');
    await new Promise((resolve) => setTimeout(resolve, 1600));
    await check('lockout');
    expect((await health('lockout'))?.status).to.equal('locked_out');
    expect(cams.get('lockout')!.stats.lockedOut).to.equal(1);
  });

  it('a busy camera is not asked again before its session timeout', async () => {
    const cam = cams.get('busy')!;
    const setups = cam.stats.setups;
    await check('busy');
    expect(cam.stats.setups).to.equal(setups);
    expect((await health('busy'))?.status).to.equal('busy');
  });

  it('a Digest SHA-256 camera plays on every engine: the relay, and the transcoder fed by our RTSP client (one session, no failed login, no credential on ffmpeg\'s command line)', async () => {
    const relayed = await t.app.cameras.acquire('sha256');
    try {
      expect(t.app.cameras.status('sha256')?.state).to.equal('live');
      expect(t.app.cameras.status('sha256')?.engine).to.equal('relay');
    } finally {
      relayed.release();
    }
    const cam = cams.get('sha256-ffmpeg')!;
    const failures = cam.stats.authFailures;
    const sessions = cam.stats.sessionsStarted;
    const lease = await t.app.cameras.acquire('sha256-ffmpeg');
    try {
      const status = t.app.cameras.status('sha256-ffmpeg')!;
      expect(status.state).to.equal('live');
      expect(status.engine).to.equal('ffmpeg');
      expect(cam.stats.authFailures).to.equal(failures);
      // ffmpeg never talks to the camera: our RTSP client holds its one session.
      expect(cam.stats.sessionsStarted - sessions).to.equal(1);
      expect(cam.stats.activeSessions).to.equal(1);
      const pid = t.app.cameras.session('sha256-ffmpeg')?.ingestPid;
      expect(pid).to.be.a('number');
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(cmdline.join(' ')).to.match(/ffmpeg/);
      for (const arg of cmdline) {
        expect(arg).not.to.include(PASSWORD);
        expect(arg).not.to.include(encodeURIComponent(PASSWORD));
        expect(arg).not.to.include(USER);
        expect(arg).not.to.match(/rtsps?:/);
      }
    } finally {
      lease.release();
    }
  });

  it('leaves no camera password in the logs, /metrics, the audit or the health records', async () => {
    const scan = new SecretsScan().registerApp(t.app).watchLog(t.log);
    for (const secret of [PASSWORD, 'wrong-one', 'not-it']) scan.register('camera password', secret);
    await scan.collectApp(t.app);
    for (const code of cams.keys()) scan.add(`health of ${code}`, JSON.stringify(await health(code)));
    expect(scan.counts.logLines).to.be.greaterThan(0);
    scan.assertClean();
  });
});
