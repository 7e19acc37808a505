import { expect } from 'chai';
import { rtspFailure } from '../support/rtspFailure.ts';
import net from 'node:net';
import tls from 'node:tls';
import { RtspClient, RtspError, probeRtspCamera, type RtspClientOptions } from '../../workers/rtsp.ts';
import { AddressGuard } from '../../server/enrolment/AddressGuard.ts';
import { checkCamera } from '../../server/cameras/checkCamera.ts';
import { CameraLoginGuard } from '../../server/cameras/CameraLoginGuard.ts';
import { ScriptedCamera, type ScriptedCameraOptions } from '../support/ScriptedCamera.ts';
import { createSelfSignedCertificate } from '../support/certificates.ts';

// Issue 26: a camera URL from the public enrolment page. Our RTSP client connects only to addresses
// the AddressGuard approved (resolveEndpoint), a redirect's target included, and never looks the
// name up again itself.

type Hook = NonNullable<RtspClientOptions['resolveEndpoint']>;
type Seen = Parameters<Hook>[0];

/** A resolveEndpoint hook built on a guard; records what it was asked. */
function hookOf(guard: AddressGuard, seen: Seen[] = []): Hook {
  return async (target) => {
    seen.push(target);
    return { address: (await guard.check(target.url)).address };
  };
}

describe('RTSP client behind the address guard (issue 26)', function () {
  this.timeout(20_000);
  const cameras: ScriptedCamera[] = [];
  const clients: RtspClient[] = [];
  /** Every host the RTSP connection handed to net.connect / tls.connect during a test, and the TLS options. */
  let dialled: string[] = [];
  let tlsOptions: tls.ConnectionOptions[] = [];
  const realConnect = { net: net.connect, tls: tls.connect };
  before(() => {
    net.connect = ((...args: Parameters<typeof net.connect>) => {
      const first = args[0] as { host?: string };
      if (typeof first === 'object' && first !== null) dialled.push(String(first.host));
      return (realConnect.net as (...a: unknown[]) => net.Socket)(...args);
    }) as typeof net.connect;
    tls.connect = ((...args: Parameters<typeof tls.connect>) => {
      const first = args[0] as { host?: string };
      if (typeof first === 'object' && first !== null) {
        dialled.push(String(first.host));
        tlsOptions.push(first as tls.ConnectionOptions);
      }
      return (realConnect.tls as (...a: unknown[]) => tls.TLSSocket)(...args);
    }) as typeof tls.connect;
  });
  after(() => {
    net.connect = realConnect.net;
    tls.connect = realConnect.tls;
  });
  beforeEach(() => {
    dialled = [];
    tlsOptions = [];
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await Promise.all(cameras.splice(0).map((c) => c.stop()));
  });
  const camera = async (options: ScriptedCameraOptions = {}) => {
    const started = await ScriptedCamera.start(options);
    cameras.push(started);
    return started;
  };

  it('(a) probes an allowed camera through the hook', async () => {
    const cam = await camera();
    const seen: Seen[] = [];
    const guard = new AddressGuard({ allowedPorts: [cam.port], allow: ['127.0.0.1/32'] });
    const probe = await probeRtspCamera({ url: cam.url(), timeoutMs: 3000, resolveEndpoint: hookOf(guard, seen) });
    expect(probe.video?.codec).to.equal('h264');
    expect(seen).to.deep.equal([{ url: cam.url(), host: '127.0.0.1', port: cam.port, secure: false }]);
    expect(dialled).to.deep.equal(['127.0.0.1']);
  });

  it('(b) refuses a loopback camera with address_refused, and never connects to it', async () => {
    const cam = await camera();
    const guard = new AddressGuard({ allowedPorts: [cam.port] });
    const error = await rtspFailure(probeRtspCamera({ url: cam.url('/x'), timeoutMs: 3000, resolveEndpoint: hookOf(guard) }));
    expect(error.code).to.equal('address_refused');
    expect(error.details).to.deep.equal({ reason: 'address' });
    expect(error.message).to.equal("the camera's address is not allowed (address)");
    expect(error.message).not.to.include('127.0.0.1');
    expect(cam.stats.connections).to.equal(0);
    expect(dialled).to.deep.equal([]);
  });

  it('(c) refuses a private address at once, with no connection attempt', async () => {
    const guard = new AddressGuard({ allowedPorts: [554], allow: ['127.0.0.1/32'] });
    const started = Date.now();
    const error = await rtspFailure(probeRtspCamera({ url: 'rtsp://10.0.0.1:554/x', timeoutMs: 3000, resolveEndpoint: hookOf(guard) }));
    expect(error.code).to.equal('address_refused');
    expect(error.message).not.to.include('10.0.0.1');
    expect(Date.now() - started).to.be.below(200);
    expect(dialled).to.deep.equal([]);
  });

  it('(d) puts every redirect target through the hook, and connects to none it refuses', async () => {
    const target = await camera();
    const closed = await camera();
    const seen: Seen[] = [];
    for (const [location, reason] of [
      ['rtsp://10.0.0.1:554/x', 'address'],
      [`rtsp://[::1]:${target.port}/stream`, 'address'],
      [closed.url(), 'port'],
    ] as const) {
      const front = await camera({ redirects: { '/stream': location } });
      // The front camera's port and the target's are allowed; the second camera's (`closed`) is not.
      const withFront = new AddressGuard({ allowedPorts: [554, target.port, front.port], allow: ['127.0.0.1/32'] });
      dialled = [];
      const error = await rtspFailure(probeRtspCamera({ url: front.url(), timeoutMs: 3000, resolveEndpoint: hookOf(withFront) }));
      expect(error.code, location).to.equal('address_refused');
      expect(error.details, location).to.deep.equal({ reason, redirected: true });
      expect(error.message).to.equal(`the address the camera redirects to is not allowed (${reason})`);
      expect(front.stats.describes, location).to.equal(1);
      expect(dialled, location).to.deep.equal(['127.0.0.1']);
    }
    expect(closed.stats.connections).to.equal(0);
    expect(target.stats.connections).to.equal(0);
    // An allowed target: the hook is asked about both endpoints, and the probe reaches the target.
    const front = await camera({ redirects: { '/stream': target.url() } });
    const both = new AddressGuard({ allowedPorts: [target.port, front.port], allow: ['127.0.0.1/32'] });
    dialled = [];
    const probe = await probeRtspCamera({ url: front.url(), timeoutMs: 3000, resolveEndpoint: hookOf(both, seen) });
    expect(probe.redirects).to.equal(1);
    expect(seen.map((s) => s.port)).to.deep.equal([front.port, target.port]);
    expect(seen[1]!.url).to.equal(target.url());
    expect(target.stats.describes).to.equal(1);
  });

  it('(e) connects to the address the hook gave, without looking the name up, and keeps the name in request lines', async () => {
    const cam = await camera();
    // A table resolver: camera.test exists nowhere else, so reaching the camera proves the hook's address was used.
    const guard = new AddressGuard({ allowedPorts: [cam.port], allow: ['127.0.0.1/32'] }, async (host) => {
      if (host !== 'camera.test') throw new Error(`unexpected lookup of ${host}`);
      return [{ address: '127.0.0.1', family: 4 }];
    });
    const url = `rtsp://camera.test:${cam.port}/stream`;
    const probe = await probeRtspCamera({ url, timeoutMs: 3000, resolveEndpoint: hookOf(guard) });
    expect(probe.video?.codec).to.equal('h264');
    expect(dialled).to.deep.equal(['127.0.0.1']);
    const describe = cam.requests.find((r) => r.method === 'DESCRIBE')!;
    expect(describe.uri).to.equal(url);
  });

  it('keeps the host name for TLS while connecting to the address', async () => {
    const certificate = await createSelfSignedCertificate('camera.test');
    const cam = await camera({ tls: { key: certificate.key, cert: certificate.cert } });
    const url = `rtsps://camera.test:${cam.port}/stream`;
    const probe = await probeRtspCamera({
      url,
      timeoutMs: 3000,
      tls: { verify: false, fingerprint256: certificate.fingerprint256 },
      resolveEndpoint: async () => ({ address: '127.0.0.1' }),
    });
    expect(probe.video?.codec).to.equal('h264');
    expect(dialled).to.deep.equal(['127.0.0.1']);
    // SNI carries the name, and the certificate is checked against the name, not the address.
    const [options] = tlsOptions;
    expect(options?.servername).to.equal('camera.test');
    const cert = (altName: string) => ({ subject: { CN: '' }, subjectaltname: altName }) as unknown as tls.PeerCertificate;
    expect(options?.checkServerIdentity?.('127.0.0.1', cert('DNS:camera.test'))).to.equal(undefined);
    expect(options?.checkServerIdentity?.('camera.test', cert('IP Address:127.0.0.1'))).to.be.instanceOf(Error);
    // Verified against the system's CAs, the self-signed certificate is refused: the check still runs.
    const error = await rtspFailure(probeRtspCamera({ url, timeoutMs: 3000, tls: { verify: true }, resolveEndpoint: async () => ({ address: '127.0.0.1' }) }));
    expect(error.code).to.equal('tls_mismatch');
  });

  it('asks once per endpoint, refuses an answer that is not an IP address, and maps a hook failure without its text', async () => {
    const cam = await camera({ redirects: { '/old': '/stream' } });
    let asked = 0;
    const redirected = new RtspClient({
      url: cam.url('/old'),
      timeoutMs: 3000,
      resolveEndpoint: async () => {
        asked++;
        return { address: '127.0.0.1' };
      },
    });
    clients.push(redirected);
    const description = await redirected.describe();
    expect(description.redirects).to.equal(1);
    expect(asked).to.equal(1);
    const client = new RtspClient({ url: cam.url(), timeoutMs: 3000, resolveEndpoint: async () => ({ address: 'localhost' }) });
    clients.push(client);
    expect((await rtspFailure(client.describe())).code).to.equal('address_refused');
    const leaky = new RtspClient({ url: cam.url(), timeoutMs: 3000, resolveEndpoint: async () => Promise.reject(new Error('10.1.2.3 is private')) });
    clients.push(leaky);
    const error = await rtspFailure(leaky.describe());
    expect(error.message).to.equal("the camera's address is not allowed");
    expect(dialled).to.deep.equal(['127.0.0.1']);
  });

  it('checkCamera passes the hook through; a refusal is not a contact', async () => {
    const cam = await camera();
    const guard = new AddressGuard({ allowedPorts: [cam.port] });
    const outcome = await checkCamera({ id: 'citizen-1', url: cam.url(), transport: 'tcp' }, new CameraLoginGuard({ authBackoffMs: 60_000, authBackoffMaxMs: 600_000 }), 3000, { resolveEndpoint: hookOf(guard) });
    expect(outcome).to.deep.include({ ok: false, code: 'address_refused', contacted: false });
    expect(cam.stats.connections).to.equal(0);
  });
});
