import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import { ScriptedCamera } from '../support/ScriptedCamera.ts';
import { connectClient, ok, request, type ClientSocket } from '../support/signallingClient.ts';
import { cameraCreateSchema } from '../../server/catalog/cameraSchemas.ts';

/**
 * Issue 26 after review: the live ingest (the server's default, ingest worker processes) and the
 * prober connect to an enrolled camera only at the address the address guard approves when its
 * session starts, and follow no redirect elsewhere. A camera that, after its check, redirects into
 * the server's network (here: to a port the guard does not allow) fails with a clear reason and the
 * target is never contacted; a camera whose address the guard refuses now is not contacted at all;
 * an ordinary enrolled camera plays.
 */
describe('enrolled cameras: the ingest and the prober pinned to the approved address (issue 26)', function () {
  this.timeout(30_000);
  let t: TestApp;
  let admin: string;
  let good: ScriptedCamera;
  let inside: ScriptedCamera;
  let front: ScriptedCamera;
  const sockets: ClientSocket[] = [];

  const enrolled = (code: string, mainUrl: string, status: 'approved' | 'pending') =>
    t.app.catalog.create(
      cameraCreateSchema.parse({
        code,
        name: code,
        area: 'citizen',
        owner: { kind: 'person', name: 'Vecino', agreementRef: `ENR-${code}`, enrolledBy: 'self-service enrolment' },
        category: 'home',
        municipality: 'Cuauhtémoc',
        mainUrl,
        sharing: 'live',
        tags: ['enrolled'],
      }),
      { status },
    );

  const consume = async (cameraId: string, review?: true) => {
    const socket = await connectClient(t.app.consoleUrl, admin);
    sockets.push(socket);
    const { rtpCapabilities } = await ok(socket, 'getRouterRtpCapabilities', {});
    const { transport } = await ok(socket, 'createTransport', {});
    return request(socket, 'consume', { transportId: transport.id, cameraId, rtpCapabilities, ...(review && { review }) });
  };

  before(async () => {
    good = await ScriptedCamera.start();
    // Inside the server's network: listening, but on a port the guard does not allow.
    inside = await ScriptedCamera.start();
    front = await ScriptedCamera.start({ redirects: { '/to-inside': inside.url() } });
    t = await startTestApp({ enrolment: { allowedPorts: [good.port, front.port], allowNetworks: ['127.0.0.1/32'] } });
    admin = await t.token('admin');
  });

  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.disconnect();
  });

  after(async () => {
    await t?.close();
    for (const camera of [good, inside, front]) await camera?.stop();
  });

  it('an enrolled camera plays, its ingest pinned to the address the guard approved (in an ingest worker process)', async () => {
    expect(t.app.ingestWorkers, 'the default: ingest worker processes').to.not.equal(undefined);
    await enrolled('cit-pin-good', good.url(), 'approved');
    const answer = await consume('cit-pin-good');
    expect(answer.error, JSON.stringify(answer.error)).to.equal(undefined);
    expect((answer as { consumer?: { id: string } }).consumer?.id, 'a consumer').to.be.a('string');
    expect(t.app.cameras.session('cit-pin-good')?.camera.pinned).to.deep.equal({ address: '127.0.0.1' });
  });

  it("an admin's review preview of a camera redirecting elsewhere fails, \"not allowed\", and the target gets no connection", async () => {
    await enrolled('cit-pin-redirect', front.url('/to-inside'), 'pending');
    const describes = front.stats.describes;
    const answer = await consume('cit-pin-redirect', true);
    expect(answer.error?.code, JSON.stringify(answer)).to.equal('camera_unavailable');
    expect(answer.error?.message).to.equal('the address the camera redirects to is not allowed');
    expect(answer.error?.details).to.deep.include({ reason: 'unreachable' });
    expect(front.stats.describes, 'the camera itself was asked').to.be.greaterThan(describes);
    expect(inside.stats.connections, 'the redirect target').to.equal(0);
  });

  it('a camera whose address the guard refuses now is not contacted: the view fails with the reason, the probe says unreachable', async () => {
    // 127.0.0.2 stands for the name's new DNS answer: not public, and not in allowNetworks.
    const camera = await enrolled('cit-pin-moved', `rtsp://127.0.0.2:${good.port}/stream`, 'approved');
    const connections = good.stats.connections;
    const answer = await consume('cit-pin-moved');
    expect(answer.error?.code).to.equal('camera_unavailable');
    expect(answer.error?.message).to.equal("the camera's address is not allowed (address)");
    expect(answer.error?.message).to.not.include('127.0.0.2');

    await t.app.prober.checkNow(camera.id);
    const health = (await t.app.catalog.get(camera.id)).health;
    expect(health?.status).to.equal('unreachable');
    expect(health?.message).to.equal("address_refused: the camera's address is not allowed (address)");
    expect(good.stats.connections, 'no connection to the refused address').to.equal(connections);
  });

  it('the prober follows no redirect of an enrolled camera to another endpoint', async () => {
    const camera = await t.app.catalog.resolve('cit-pin-redirect');
    await t.app.prober.checkNow(camera.camera.id);
    const health = (await t.app.catalog.get(camera.camera.id)).health;
    expect(health?.status).to.equal('unreachable');
    expect(health?.message).to.equal('address_refused: the address the camera redirects to is not allowed');
    expect(inside.stats.connections, 'the redirect target').to.equal(0);
  });
});
