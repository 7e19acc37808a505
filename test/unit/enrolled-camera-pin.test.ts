import { expect } from 'chai';
import { AppError } from '../../server/errors/AppError.ts';
import { SecretVault } from '../../server/auth/SecretVault.ts';
import { UrlVault } from '../../server/catalog/UrlVault.ts';
import { CameraCatalog } from '../../server/catalog/CameraCatalog.ts';
import { cameraCreateSchema } from '../../server/catalog/cameraSchemas.ts';
import { EmbeddedCameraRepository } from '../../server/store/embedded/EmbeddedCameraRepository.ts';
import { cameraRtspClient, ownEndpointOnly } from '../../workers/cameraSession.ts';
import { RelayIngest } from '../../workers/RelayIngest.ts';
import { FfmpegIngest } from '../../workers/FfmpegIngest.ts';
import { IngestError } from '../../workers/IngestError.ts';
import type { Ingest, IngestSource } from '../../workers/Ingest.ts';
import { RtspError } from '../../workers/rtsp.ts';
import { toWorkerSchema } from '../../workers/ingestProtocol.ts';
import { ScriptedCamera } from '../support/ScriptedCamera.ts';

/**
 * Issue 26, after review: an enrolled camera's ingest connects only to the address the guard
 * approved when its session started (IngestSource.pinned), never to a new DNS answer for its name,
 * and follows no redirect to another endpoint. The catalog's directory pins enrolled cameras.
 */
describe('enrolled cameras pinned to their approved address (issue 26)', function () {
  this.timeout(20_000);

  describe('ownEndpointOnly', () => {
    const resolve = ownEndpointOnly('rtsp://Cam.Example.org/live', async () => ({ address: '198.51.100.7' }));
    const ask = (host: string, port: number, secure = false) => resolve({ url: `rtsp${secure ? 's' : ''}://${host}:${port}/x`, host, port, secure });

    it("gives the pinned address for the URL's own host, port (the scheme's default) and scheme", async () => {
      expect(await ask('cam.example.org', 554)).to.deep.equal({ address: '198.51.100.7' });
    });

    it('refuses any other host, port or scheme (a redirect elsewhere)', async () => {
      for (const [host, port, secure] of [['other.example.org', 554, false], ['cam.example.org', 8554, false], ['cam.example.org', 554, true], ['198.51.100.7', 554, false]] as const) {
        const error = await ask(host, port, secure).then(() => undefined, (e: unknown) => e);
        expect(error, `${host}:${port} ${secure}`).to.be.instanceOf(Error);
      }
    });

    it('keeps IPv6 literals comparable (no brackets)', async () => {
      const v6 = ownEndpointOnly('rtsp://[2001:DB8::1]:8554/a', async () => ({ address: '2001:db8::1' }));
      expect(await v6({ url: 'rtsp://[2001:db8::1]:8554/b', host: '2001:db8::1', port: 8554, secure: false })).to.deep.equal({ address: '2001:db8::1' });
    });
  });

  describe('the engines with a pinned camera', () => {
    let camera: ScriptedCamera;
    let inside: ScriptedCamera;
    let front: ScriptedCamera;
    const source = (url: string, pinned?: string): IngestSource => ({ id: 'cit-pin', url, transport: 'tcp', ...(pinned && { pinned: { address: pinned } }) });

    before(async () => {
      camera = await ScriptedCamera.start();
      inside = await ScriptedCamera.start();
      // Stands for a camera that, after review, redirects into the server's network.
      front = await ScriptedCamera.start({ redirects: { '/away': inside.url() } });
    });

    after(async () => {
      for (const c of [camera, inside, front]) await c?.stop();
    });

    it('connects to the pinned address with no lookup of the name (.invalid never resolves)', async () => {
      const client = cameraRtspClient(source(`rtsp://camera.invalid:${camera.port}/stream`, '127.0.0.1'), 3000);
      try {
        const description = await client.describe();
        expect(description.tracks.length).to.be.greaterThan(0);
      } finally {
        await client.close();
      }
      // Control: unpinned, the name is looked up and does not resolve.
      const unpinned = cameraRtspClient(source(`rtsp://camera.invalid:${camera.port}/stream`), 3000);
      const error = await unpinned.describe().then(() => undefined, (e: unknown) => e);
      await unpinned.close();
      expect(error).to.be.instanceOf(RtspError);
      expect((error as RtspError).code).to.equal('unreachable');
    });

    it('relay and ffmpeg engines: a redirect to another endpoint fails as unreachable, "not allowed", and the target gets no connection', async () => {
      const before = inside.stats.connections;
      const url = `rtsp://front.invalid:${front.port}/away`;
      const engines: Ingest[] = [
        new RelayIngest({ camera: source(url, '127.0.0.1'), timeoutMs: 3000, stallTimeoutMs: 3000, highProfile: 'relabel', nativeSending: false }),
        new FfmpegIngest({ camera: source(url, '127.0.0.1'), ffmpegPath: 'ffmpeg', highProfile: 'relabel', transcodeKbps: 500, timeoutMs: 3000, stallTimeoutMs: 3000 }),
      ];
      for (const engine of engines) {
        const error = await engine.open().then(() => undefined, (e: unknown) => e);
        await engine.stop();
        await engine.close?.();
        expect(error, engine.constructor.name).to.be.instanceOf(IngestError);
        expect((error as IngestError).reason).to.equal('unreachable');
        expect((error as IngestError).message).to.equal('the address the camera redirects to is not allowed');
      }
      expect(front.stats.describes).to.be.at.least(2);
      expect(inside.stats.connections, 'the redirect target').to.equal(before);

      // Control: unpinned, the same redirect is followed.
      const relay = new RelayIngest({ camera: source(front.url('/away')), timeoutMs: 3000, stallTimeoutMs: 3000, highProfile: 'relabel', nativeSending: false });
      await relay.open();
      await relay.close();
      expect(inside.stats.connections).to.be.greaterThan(before);
    });

    it('the pin crosses to ingest worker processes (IPC schema), as plain data', () => {
      const open = { type: 'open', id: 1, key: 'k', camera: { id: 'c', url: 'rtsp://cam.example.org/live', transport: 'tcp', pinned: { address: '198.51.100.7' } } };
      expect(toWorkerSchema.safeParse(open).success).to.equal(true);
      expect(toWorkerSchema.safeParse({ ...open, camera: { ...open.camera, pinned: { address: 'cam.example.org' } } }).success, 'a name is no pin').to.equal(false);
    });
  });

  describe('CameraCatalog.asDirectory({ pin })', () => {
    let repository: EmbeddedCameraRepository;
    let catalog: CameraCatalog;
    let asked: string[];
    let refuse: boolean;
    const pin = async (url: string) => {
      asked.push(url);
      if (refuse) throw new AppError('unprocessable', 'cam.example.org is not a public address', { reason: 'address' });
      return { address: '198.51.100.7' };
    };

    const create = (code: string, tags: string[], status: 'approved' | 'pending' = 'approved') =>
      catalog.create(
        cameraCreateSchema.parse({
          code,
          name: code,
          area: tags.includes('enrolled') ? 'citizen' : 'agency',
          owner: { kind: 'person', name: 'Owner', ...(tags.includes('enrolled') && { agreementRef: 'ENR-1', enrolledBy: 'self-service enrolment' }) },
          category: 'home',
          municipality: 'Centro',
          mainUrl: 'rtsp://cam.example.org/live',
          credentials: { username: 'vecino', password: 'secret-pass' },
          tags,
        }),
        { status },
      );

    beforeEach(async () => {
      repository = await EmbeddedCameraRepository.open();
      catalog = new CameraCatalog(repository, new UrlVault(new SecretVault('a-credential-key-for-unit-tests-32+chars')));
      asked = [];
      refuse = false;
      await create('cit-one', ['enrolled']);
      await create('cit-review', ['enrolled'], 'pending');
      await create('ag-one', []);
    });

    afterEach(async () => {
      await repository.close();
    });

    it('pins an enrolled camera (main URL without credentials asked), not another one', async () => {
      const directory = catalog.asDirectory({ pin });
      const enrolled = await directory.get('cit-one');
      expect(enrolled?.pinned).to.deep.equal({ address: '198.51.100.7' });
      expect(enrolled?.username).to.equal('vecino');
      expect(asked).to.deep.equal(['rtsp://cam.example.org/live']);
      expect((await directory.get('cit-review'))?.pinned, 'a pending camera under review').to.deep.equal({ address: '198.51.100.7' });
      expect((await directory.get('ag-one'))?.pinned).to.equal(undefined);
      expect(asked).to.have.length(2);
      const listed = await directory.list();
      expect(listed.find((c) => c.id === 'cit-one')?.pinned).to.deep.equal({ address: '198.51.100.7' });
      expect(listed.find((c) => c.id === 'ag-one')?.pinned).to.equal(undefined);
      // Without a pin function nothing is pinned.
      expect((await catalog.asDirectory().get('cit-one'))?.pinned).to.equal(undefined);
    });

    it('a refusal: get() throws camera_unavailable with the reason and never the address; list() leaves the camera out', async () => {
      refuse = true;
      const directory = catalog.asDirectory({ pin });
      const error = await directory.get('cit-one').then(() => undefined, (e: unknown) => e);
      expect(error).to.be.instanceOf(AppError);
      expect((error as AppError).code).to.equal('camera_unavailable');
      expect((error as AppError).message).to.equal("the camera's address is not allowed (address)");
      expect((error as AppError).message).to.not.include('example.org');
      expect((await directory.get('ag-one'))?.id).to.equal('ag-one');
      expect((await directory.list()).map((c) => c.id)).to.deep.equal(['ag-one']);
    });

    it("pins an enrolled camera's substream apart", async () => {
      const camera = await catalog.resolve('cit-one');
      await catalog.update(camera.camera.id, { substreamUrl: 'rtsp://sub.example.org/sub' });
      const source = await catalog.asDirectory({ pin }).get('cit-one');
      expect(asked).to.deep.equal(['rtsp://cam.example.org/live', 'rtsp://sub.example.org/sub']);
      expect(source?.substream?.pinned).to.deep.equal({ address: '198.51.100.7' });
    });
  });
});
