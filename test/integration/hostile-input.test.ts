import { existsSync, rmSync } from 'node:fs';
import { request as httpRequest, type RequestListener } from 'node:http';
import { connect, type Socket } from 'node:net';
import { expect } from 'chai';
import { Simulator } from '../support/simulator.ts';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { connectClient, ok, request } from '../support/signallingClient.ts';
import { SecretsScan } from '../support/SecretsScan.ts';
import { WebServer, defaultConnectionLimits } from '../../server/http/WebServer.ts';

/** Issue 17 part 4: hostile input at the edges, with the secrets scan over the whole run. */

const JWT_SECRET = 'hostile-jwt-secret-0123456789-abcdefghij';
const CREDENTIAL_KEY = 'hostile-credential-key-0123456789-abcdef';
const AUDIT_KEY = 'hostile-audit-key-0123456789-abcdefghijk';
const USER_PASSWORD = 'a-long-test-password';
/** Credentials with every URL delimiter; the simulator's camera wants exactly these (digest). */
const CAM_USER = 'ops@c5/#%x';
const CAM_PASSWORD = 'p@ss:/#%w0rd?&=';
const PWNED = `/tmp/pwned-${process.pid}`;

describe('hostile input at the edges (issue 17)', function () {
  this.timeout(90_000);
  let sim: Simulator;
  let t: TestApp;
  let base: string;
  let admin: string;
  let operator: string;
  const scan = new SecretsScan();

  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await scan.fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}`, ...headers },
      ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    let json: Record<string, any> = {};
    try {
      json = res.text ? (JSON.parse(res.text) as Record<string, any>) : {};
    } catch {
      /* not JSON */
    }
    return { status: res.status, json, text: res.text };
  };

  /** A request with its path sent byte for byte (fetch would resolve `..` and re-encode). */
  const raw = (method: string, path: string, body?: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const url = new URL(base);
      const req = httpRequest(
        { host: url.hostname, port: url.port, method, path, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            scan.add(`raw ${method} ${path} ${res.statusCode}`, text);
            resolve({ status: res.statusCode ?? 0, text });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });

  const agency = (code: string, extra: Record<string, unknown> = {}) => ({
    code,
    name: `Cámara ${code}`,
    area: 'agency',
    owner: { kind: 'organisation', name: 'SSC CDMX' },
    category: 'street',
    municipality: 'Cuauhtémoc',
    mainUrl: 'rtsp://10.20.30.40:554/Streaming/Channels/101',
    ...extra,
  });

  before(async () => {
    rmSync(PWNED, { force: true });
    rmSync(`${PWNED}-2`, { force: true });
    sim = await Simulator.start({
      config: { cameras: [{ id: 'cam-auth', tag: 171, codec: 'h264', profile: 'baseline', width: 320, height: 180, fps: 15, gop: 15, auth: { user: CAM_USER, password: CAM_PASSWORD, method: 'digest' } }] },
    });
    t = await startTestApp({ auth: { jwtSecret: JWT_SECRET }, catalog: { credentialKey: CREDENTIAL_KEY }, audit: { key: AUDIT_KEY } });
    base = t.app.consoleUrl;
    admin = await t.token('admin');
    operator = await t.token('operator');
    scan
      .registerApp(t.app)
      .watchLog(t.log)
      .register('test user password', USER_PASSWORD)
      .register('camera user', CAM_USER)
      .register('camera password', CAM_PASSWORD)
      .register('admin token', admin)
      .register('operator token', operator);
  });
  after(async () => {
    await t?.close();
    await sim?.stop();
    rmSync(PWNED, { force: true });
    rmSync(`${PWNED}-2`, { force: true });
  });

  it('refuses camera URLs with shell metacharacters, other schemes and control characters (400, naming the field)', async () => {
    const hostile = [
      'rtsp://10.0.0.1/a;touch /tmp/x',
      `rtsp://10.0.0.1/a;touch${PWNED}`,
      'rtsp://10.0.0.1/$(id)',
      'rtsp://10.0.0.1/`id`',
      'rtsp://10.0.0.1/a|nc',
      'rtsp://10.0.0.1/a&&b',
      'file:///etc/passwd',
      'http://10.0.0.1/stream',
      'javascript:alert(1)',
      'rtsp://10.0.0.1/a\r\nCSeq: 1',
      'rtsp://10.0.0.1/a\nX-Injected: 1',
      'rtsp://10.0.0.1/a%0d%0aX-Injected:%201',
      'rtsp://10.0.0.1/a%0AX',
      'rtsp://10.0.0.1/a%00',
      'rtsp://u%0d%0aX-Injected:%201:p@10.0.0.1/a',
      'rtsp://u:p%0d%0a@10.0.0.1/a',
      'rtsp://u:%E0%A4%A@10.0.0.1/a',
      'rtsp://10.0.0.1/a\u0007',
      'rtsp://10.0.0.1/a\u2028b',
    ];
    for (const [i, mainUrl] of hostile.entries()) {
      const res = await api('POST', '/api/cameras', agency(`HOSTILE-${i}`, { mainUrl }));
      expect(res.status, JSON.stringify(mainUrl)).to.equal(400);
      expect(res.json.error.code).to.equal('invalid_request');
      expect(res.json.error.message).to.match(/mainUrl/);
      const sub = await api('POST', '/api/cameras', agency(`HOSTILE-S${i}`, { substreamUrl: mainUrl }));
      expect(sub.status, JSON.stringify(mainUrl)).to.equal(400);
    }
    const credentials = [
      { username: 'ops\r\nX-Injected: 1', password: 'x' },
      { username: 'ops', password: 'pw\r\nCSeq: 9' },
      { username: 'ops\u0000', password: 'x' },
      { username: 'ops', password: 'pw\u0085' },
    ];
    for (const [i, credential] of credentials.entries()) {
      const res = await api('POST', '/api/cameras', agency(`HOSTILE-C${i}`, { credentials: credential }));
      expect(res.status, JSON.stringify(credential)).to.equal(400);
      expect(res.json.error.code).to.equal('invalid_request');
    }
    const good = await api('POST', '/api/cameras', agency('HOSTILE-OK'));
    expect(good.status).to.equal(201);
    for (const mainUrl of hostile.slice(0, 12)) {
      const res = await api('PATCH', '/api/cameras/HOSTILE-OK', { mainUrl });
      expect(res.status, JSON.stringify(mainUrl)).to.equal(400);
    }
    expect((await api('PATCH', '/api/cameras/HOSTILE-OK', { credentials: credentials[0] })).status).to.equal(400);
  });

  it('round-trips user names and passwords with @ : / # %: sealed, shown masked, opened exactly', async () => {
    const username = 'op:er@tor/#%25';
    const password = 'p@ss:/#%w0rd?&=%41';
    scan.register('round-trip user', username).register('round-trip password', password);
    const apart = await api('POST', '/api/cameras', agency('DELIM-1', { credentials: { username, password } }));
    expect(apart.status).to.equal(201);
    expect(apart.json.mainUrl).to.equal('rtsp://***@10.20.30.40:554/Streaming/Channels/101');
    const inline = await api('POST', '/api/cameras', agency('DELIM-2', { mainUrl: `rtsp://${encodeURIComponent(username)}:${encodeURIComponent(password)}@10.20.30.40:554/Streaming/Channels/101` }));
    expect(inline.status).to.equal(201);
    expect(inline.json.mainUrl).to.equal('rtsp://***@10.20.30.40:554/Streaming/Channels/101');
    for (const code of ['DELIM-1', 'DELIM-2']) {
      const { camera } = await t.app.catalog.resolve(code);
      expect(JSON.stringify(camera)).not.to.include(password);
      expect(t.app.catalog.connectionOf(camera)).to.deep.equal({ url: 'rtsp://10.20.30.40:554/Streaming/Channels/101', username, password });
    }
    const listed = await api('GET', '/api/cameras?q=DELIM');
    expect(listed.json.items).to.have.length(2);
  });

  it('plays a camera whose credentials hold @ : / # % against the simulator (digest), and refuses wrong ones', async () => {
    const url = sim.url('cam-auth');
    expect((await api('POST', '/api/cameras', agency('AUTH-OK', { mainUrl: url, credentials: { username: CAM_USER, password: CAM_PASSWORD } }))).status).to.equal(201);
    expect((await api('POST', '/api/cameras', agency('AUTH-BAD', { mainUrl: url, credentials: { username: CAM_USER, password: 'wrong:/#%' } }))).status).to.equal(201);
    for (const code of ['AUTH-OK', 'AUTH-BAD']) expect((await api('POST', `/api/cameras/${code}/approve`, { reason: 'test' })).status).to.equal(200);
    const socket = await connectClient(base, operator);
    try {
      const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
      const { transport } = await ok(socket, 'createTransport', {});
      const { consumer } = await ok(socket, 'consume', { transportId: transport.id, cameraId: 'AUTH-OK', rtpCapabilities });
      expect(consumer.cameraId).to.equal('AUTH-OK');
      const refused = await request(socket, 'consume', { transportId: transport.id, cameraId: 'AUTH-BAD', rtpCapabilities });
      scan.add('socket consume AUTH-BAD', JSON.stringify(refused));
      expect(refused).to.have.property('error');
    } finally {
      socket.close();
    }
  });

  it('spawns ffmpeg/ffprobe with argument arrays: shell syntax in a path or password runs nothing', async () => {
    const path = `${sim.url('cam-auth')}%3Btouch%20${encodeURIComponent(PWNED)}`;
    expect((await api('POST', '/api/cameras', agency('SHELL-1', { mainUrl: path, credentials: { username: CAM_USER, password: CAM_PASSWORD } }))).status).to.equal(201);
    const password = `x;touch ${PWNED}-2;$(touch ${PWNED}-2)\`touch ${PWNED}-2\``;
    scan.register('shell password', password);
    expect((await api('POST', '/api/cameras', agency('SHELL-2', { mainUrl: sim.url('cam-auth'), credentials: { username: CAM_USER, password } }))).status).to.equal(201);
    for (const code of ['SHELL-1', 'SHELL-2']) expect((await api('POST', `/api/cameras/${code}/approve`, { reason: 'test' })).status).to.equal(200);
    const socket = await connectClient(base, operator);
    try {
      const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
      const { transport } = await ok(socket, 'createTransport', {});
      for (const cameraId of ['SHELL-1', 'SHELL-2']) {
        const answer = await request(socket, 'consume', { transportId: transport.id, cameraId, rtpCapabilities });
        scan.add(`socket consume ${cameraId}`, JSON.stringify(answer));
        expect(answer, cameraId).to.have.property('error');
      }
    } finally {
      socket.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(existsSync(PWNED), PWNED).to.equal(false);
    expect(existsSync(`${PWNED}-2`), `${PWNED}-2`).to.equal(false);
  });

  it('answers path traversal in every path parameter with 400/404 and a stable code, never 5xx, never a file', async () => {
    const userId = (await api('GET', '/api/me', undefined, { authorization: `Bearer ${admin}` })).json.id as string | undefined;
    const traversals = ['..', '.', '%2e%2e', '..%2f..%2fpackage.json', '%2e%2e%2f%2e%2e%2fpackage.json', '..%5c..%5cpackage.json', '%252e%252e%252f', '..%00', '%E0%A4%A', '%c0%ae%c0%ae%2f', 'a%2fb'];
    const cases: Array<[string, string, string?]> = [];
    for (const bad of traversals) {
      cases.push(['GET', `/api/cameras/${bad}`]);
      cases.push(['PATCH', `/api/cameras/${bad}`, JSON.stringify({ name: 'x' })]);
      cases.push(['DELETE', `/api/cameras/${bad}`]);
      cases.push(['POST', `/api/cameras/${bad}/approve`, JSON.stringify({ reason: 'x' })]);
      cases.push(['POST', `/api/cameras/HOSTILE-OK/${bad}`, JSON.stringify({ reason: 'x' })]);
      cases.push(['POST', `/api/cameras/HOSTILE-OK/${bad}%2fapprove`, JSON.stringify({ reason: 'x' })]);
      cases.push(['GET', `/api/users/${bad}`]);
      cases.push(['PATCH', `/api/users/${bad}`, JSON.stringify({ displayName: 'x' })]);
      cases.push(['POST', `/api/users/${bad}/password`, JSON.stringify({ password: 'another-long-password' })]);
      if (userId) cases.push(['POST', `/api/users/${userId}${bad}/password`, JSON.stringify({ password: 'another-long-password' })]);
    }
    cases.push(['GET', '/api/cameras/../../package.json'], ['GET', '/api/../package.json'], ['GET', '/api/cameras/%2e%2e/%2e%2e/%2e%2e/etc/passwd']);
    const failures: string[] = [];
    for (const [method, path, body] of cases) {
      const res = await raw(method, path, body);
      let code: unknown;
      try {
        code = (JSON.parse(res.text) as { error?: { code?: unknown } }).error?.code;
      } catch {
        code = undefined;
      }
      if (![400, 404].includes(res.status) || !['invalid_request', 'not_found'].includes(code as string) || /"name":\s*"c5|root:x:0/.test(res.text)) failures.push(`${method} ${path} -> ${res.status} ${res.text.slice(0, 120)}`);
    }
    // Outside /api: the static console files, never anything above them.
    for (const path of ['/../package.json', '/..%2fpackage.json', '/%2e%2e/package.json', '/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/..%5cpackage.json', '/%E0%A4%A']) {
      const res = await raw('GET', path);
      if (res.status < 400 || res.status >= 500 || /"name":\s*"c5|root:x:0/.test(res.text)) failures.push(`GET ${path} -> ${res.status} ${res.text.slice(0, 120)}`);
    }
    expect(failures, failures.join('\n')).to.deep.equal([]);
  });

  it('answers bodies over the limit with 413 payload_too_large, and unreadable bodies with 400', async () => {
    const big = JSON.stringify(agency('BIG-1', { name: 'x'.repeat(200 * 1024) }));
    for (const path of ['/api/cameras', '/api/auth/login', '/api/users', '/api/cameras/HOSTILE-OK/approve']) {
      const res = await api('POST', path, big);
      expect(res.status, path).to.equal(413);
      expect(res.json.error.code, path).to.equal('payload_too_large');
    }
    const patched = await api('PATCH', '/api/cameras/HOSTILE-OK', big);
    expect([patched.status, patched.json.error.code]).to.deep.equal([413, 'payload_too_large']);
    const hugeImport = await api('POST', '/api/cameras/import', `[${'"x",'.repeat(5_300_000)}"x"]`);
    expect([hugeImport.status, hugeImport.json.error.code]).to.deep.equal([413, 'payload_too_large']);
    const unreadable: Array<Record<string, string>> = [{ 'content-encoding': 'bogus' }, { 'content-type': 'application/json; charset=klingon' }];
    for (const headers of unreadable) {
      const res = await api('POST', '/api/cameras', JSON.stringify(agency('ENC-1')), headers);
      expect(res.status, JSON.stringify(headers)).to.equal(400);
      expect(res.json.error.code).to.equal('invalid_request');
    }
  });

  it('bounds and times out slow-loris connections and keeps serving others', async () => {
    // The app's server carries the production limits.
    expect(t.app.web.server.headersTimeout).to.equal(defaultConnectionLimits.headersTimeoutMs);
    expect(t.app.web.server.requestTimeout).to.equal(defaultConnectionLimits.requestTimeoutMs);
    expect(t.app.web.server.keepAliveTimeout).to.equal(defaultConnectionLimits.keepAliveTimeoutMs);
    expect(t.app.web.server.maxConnections).to.equal(defaultConnectionLimits.maxConnections);
    // The same request handling behind a server with short limits, so this runs in seconds.
    const listener = t.app.web.server.listeners('request')[0] as RequestListener;
    const web = await WebServer.create(listener, {
      host: '127.0.0.1',
      port: 0,
      limits: { headersTimeoutMs: 1500, requestTimeoutMs: 3000, keepAliveTimeoutMs: 1000, checkIntervalMs: 250, maxConnectionsPerIp: 20 },
    });
    const sockets: Array<{ socket: Socket; closedAt?: number }> = [];
    const timers: NodeJS.Timeout[] = [];
    try {
      const started = Date.now();
      // The loris comes from 127.0.0.2; everyone else from 127.0.0.1.
      for (let i = 0; i < 40; i++) {
        const socket = connect({ host: '127.0.0.1', port: web.port, localAddress: '127.0.0.2' });
        const entry: { socket: Socket; closedAt?: number } = { socket };
        sockets.push(entry);
        socket.on('error', () => undefined);
        socket.resume(); // read the server's 408, so 'close' follows its hang-up
        socket.on('close', () => (entry.closedAt = Date.now() - started));
        const bytes = Buffer.from('GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
        let at = 0;
        const timer = setInterval(() => {
          if (socket.destroyed || at >= bytes.length) return;
          socket.write(bytes.subarray(at, ++at));
        }, 1000);
        timers.push(timer);
      }
      const latencies: number[] = [];
      for (let i = 0; i < 8; i++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        const before = Date.now();
        const res = await fetch(`http://127.0.0.1:${web.port}/healthz`);
        expect(res.status).to.equal(200);
        await res.text();
        latencies.push(Date.now() - before);
      }
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const closed = sockets.filter((s) => s.closedAt !== undefined);
      const closedTimes = closed.map((s) => s.closedAt!).sort((a, b) => a - b);
      console.log(`      healthz during the loris: max ${Math.max(...latencies)} ms; loris sockets closed: ${closed.length}/40, last at ${closedTimes.at(-1)} ms`);
      expect(Math.max(...latencies)).to.be.below(500);
      expect(closed.length, 'every loris socket closed by the server').to.equal(40);
      // 20 over the per-address cap at once; the rest within the header timeout and a check interval or two.
      expect(closedTimes.filter((ms) => ms < 500).length).to.be.at.least(20);
      expect(closedTimes.at(-1)).to.be.below(1500 + 250 * 2 + 1500);
    } finally {
      for (const timer of timers) clearInterval(timer);
      for (const { socket } of sockets) socket.destroy();
      await web.close();
    }
    // The app itself still answers.
    expect((await fetch(`${base}/healthz`)).status).to.equal(200);
  });

  it('let no registered secret out: logs, responses, metrics, audit', async () => {
    await scan.collectApp(t.app);
    const counts = scan.counts;
    expect(counts.secrets).to.be.at.least(10);
    expect(counts.sources).to.be.at.least(100);
    expect(counts.logLines).to.be.greaterThan(0);
    scan.assertClean();
  });

  it('the scan finds a planted secret in each form and place', () => {
    const planted = new SecretsScan().register('planted', 'S3cr3t/p@ss:word');
    planted.add('response', '{"password":"S3cr3t/p@ss:word"}').add('log', 'url=rtsp://u:S3cr3t%2Fp%40ss%3Aword@h/').add('metric', `x{a="${Buffer.from('S3cr3t/p@ss:word').toString('base64')}"} 1`);
    expect(planted.findings()).to.have.length(3);
    expect(() => planted.assertClean()).to.throw(/planted \(raw\) in response[\s\S]*url-encoded\) in log[\s\S]*base64\) in metric/);
  });
});
