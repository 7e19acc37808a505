import { expect } from 'chai';
import { CameraManager, type CameraLease } from '../../server/cameras/CameraManager.ts';
import type { CameraTiming } from '../../server/cameras/CameraSession.ts';
import type { CameraDirectory, CameraSource } from '../../server/cameras/CameraDirectory.ts';
import type { CameraState, CameraStatus } from '../../server/cameras/CameraStatus.ts';
import type { CameraFeed } from '../../server/media/CameraFeed.ts';
import { configSchema } from '../../server/config/schema.ts';
import { AppError, type ErrorCode } from '../../server/errors/AppError.ts';
import { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import type { Ingest, IngestDescription, IngestEvents, IngestProgress, RtpTarget } from '../../workers/Ingest.ts';
import { IngestError, type IngestFailureReason } from '../../workers/IngestError.ts';
import { LogCapture } from '../support/LogCapture.ts';

// CameraManager + CameraSession driven with a fake Ingest, fake feeds, a fake directory and a
// controllable clock (setTimeout / clearTimeout / Date.now replaced for each test): no ffmpeg,
// no mediasoup, no network, no real waiting. Every test ends with no timer left.


// ---------------------------------------------------------------------------------------------
// A controllable clock

const realSetImmediate = setImmediate;

/** Lets every pending promise continuation run (the code under test never waits on real I/O). */
async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => realSetImmediate(resolve));
}

class FakeTimeout {
  constructor(readonly id: number) {}
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  hasRef(): boolean {
    return true;
  }
  [Symbol.toPrimitive](): number {
    return this.id;
  }
}

class FakeClock {
  now = Date.UTC(2026, 0, 15, 8, 0, 0);
  #seq = 0;
  readonly #timers = new Map<number, { at: number; run: () => void }>();
  readonly #real = { setTimeout: globalThis.setTimeout, clearTimeout: globalThis.clearTimeout, now: Date.now };

  install(): void {
    const fakeSetTimeout = (callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): FakeTimeout => {
      const id = ++this.#seq;
      this.#timers.set(id, { at: this.now + Math.max(0, ms ?? 0), run: () => callback(...args) });
      return new FakeTimeout(id);
    };
    const fakeClearTimeout = (handle: unknown): void => {
      if (handle instanceof FakeTimeout) this.#timers.delete(handle.id);
      else this.#real.clearTimeout(handle as NodeJS.Timeout);
    };
    globalThis.setTimeout = fakeSetTimeout as unknown as typeof setTimeout;
    globalThis.clearTimeout = fakeClearTimeout as typeof clearTimeout;
    Date.now = () => this.now;
  }

  uninstall(): void {
    globalThis.setTimeout = this.#real.setTimeout;
    globalThis.clearTimeout = this.#real.clearTimeout;
    Date.now = this.#real.now;
  }

  /** Timers armed and not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Advances the clock, firing due timers in order and letting promises settle after each. */
  async tick(ms = 0): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      await flush();
      let next: [number, { at: number; run: () => void }] | undefined;
      for (const entry of this.#timers) {
        if (entry[1].at <= target && (!next || entry[1].at < next[1].at)) next = entry;
      }
      if (!next) break;
      this.#timers.delete(next[0]);
      this.now = next[1].at;
      next[1].run();
    }
    this.now = target;
    await flush();
  }
}

// ---------------------------------------------------------------------------------------------
// Fakes at the seams

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function description(): IngestDescription {
  return {
    codec: {
      mimeType: 'video/H264',
      clockRate: 90000,
      payloadType: 102,
      parameters: { 'packetization-mode': 1, 'profile-level-id': '4d0029', 'level-asymmetry-allowed': 1 },
    },
    ssrc: 11223344,
    engine: 'ffmpeg',
    source: { codec: 'h264', profile: 'Main', width: 1920, height: 1080, fps: 25, hasBFrames: false },
  };
}

/** What one open() does: succeed, never answer, fail, or wait for the test. */
type OpenStep = 'ok' | 'hang' | Error | Deferred<IngestDescription>;

/** The open() script of one camera (shared by every ingest created for it). */
interface OpenScript {
  queue: OpenStep[];
  otherwise: OpenStep;
}

class FakeIngest extends TypedEmitter<IngestEvents> implements Ingest {
  opens = 0;
  readonly starts: RtpTarget[] = [];
  stops = 0;
  running = false;
  stopError: Error | undefined;

  constructor(
    readonly camera: CameraSource,
    private readonly script: OpenScript,
  ) {
    super();
  }

  get pid(): number | undefined {
    return this.running ? 4242 : undefined;
  }

  open(): Promise<IngestDescription> {
    this.opens++;
    const step = this.script.queue.shift() ?? this.script.otherwise;
    if (step === 'ok') return Promise.resolve(description());
    if (step === 'hang') return new Promise<IngestDescription>(() => undefined);
    if (step instanceof Error) return Promise.reject(step);
    return step.promise;
  }

  start(target: RtpTarget): void {
    if (this.running) throw new Error('FakeIngest.start() while running');
    this.starts.push(target);
    this.running = true;
  }

  async stop(): Promise<void> {
    this.stops++;
    this.running = false;
    if (this.stopError) throw this.stopError;
  }

  /** The run ends by itself (ffmpeg exited, stalled, ...). */
  fail(reason: IngestFailureReason, message: string): void {
    this.running = false;
    this.emit('error', new IngestError(reason, message));
  }

  progress(progress: IngestProgress): void {
    this.emit('progress', progress);
  }
}

/** The members of CameraFeed a CameraSession uses: rtpTarget, firstRtp, onClose, close. */
class FakeFeed {
  static #ports = 40000;
  readonly rtpTarget: RtpTarget;
  readonly #rtp = deferred<void>();
  readonly firstRtp = this.#rtp.promise;
  readonly #closeListeners = new Set<() => void>();
  closed = false;

  constructor(
    readonly cameraId: string,
    readonly description: IngestDescription,
  ) {
    const port = (FakeFeed.#ports += 2);
    this.rtpTarget = { ip: '127.0.0.1', rtpPort: port, rtcpPort: port + 1 };
  }

  /** The first RTP packet reached the PlainTransport. */
  rtpArrives(): void {
    this.#rtp.resolve();
  }

  onClose(listener: () => void): () => void {
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const listener of this.#closeListeners) listener();
    this.#closeListeners.clear();
  }
}

/** What createFeed does: a feed whose RTP flows at once, one that waits, or a failure; 'held' waits for the test. */
type FeedStep = 'rtp' | 'no-rtp' | Error | { held: Deferred<void> };

class FakeDirectory implements CameraDirectory {
  readonly cameras = new Map<string, CameraSource>();
  readonly lookups: string[] = [];
  /** While set, get() answers only once it resolves. */
  gate: Deferred<void> | undefined;
  /** Codes get() refuses as the catalog does for a camera that may not be viewed. */
  readonly forbidden = new Set<string>();

  async get(code: string): Promise<CameraSource | undefined> {
    this.lookups.push(code);
    if (this.gate) await this.gate.promise;
    if (this.forbidden.has(code)) throw new AppError('forbidden', `camera ${code} is suspended and cannot be viewed`);
    return this.cameras.get(code);
  }

  async list(): Promise<CameraSource[]> {
    return [...this.cameras.values()];
  }
}

const defaults: CameraTiming = configSchema.parse({}).ingest;

let cameraNumber = 0;
function camera(id: string, extra: Partial<CameraSource> = {}): CameraSource {
  cameraNumber++;
  return {
    id,
    name: `Camera ${id}`,
    url: `rtsp://10.0.${cameraNumber}.64:554/Streaming/Channels/101`,
    username: 'admin',
    password: 'Hik12345',
    transport: 'tcp',
    alwaysOn: false,
    area: 'agency',
    ...extra,
  };
}

const harnesses: Harness[] = [];

class Harness {
  readonly directory = new FakeDirectory();
  readonly log = new LogCapture('warn');
  readonly ingests: FakeIngest[] = [];
  readonly feeds: FakeFeed[] = [];
  readonly feedSteps: FeedStep[] = [];
  feedOtherwise: FeedStep = 'rtp';
  readonly states: CameraStatus[] = [];
  readonly manager: CameraManager;
  readonly timing: CameraTiming;
  readonly #scripts = new Map<string, OpenScript>();

  constructor(cameras: CameraSource[], timing: Partial<CameraTiming> = {}) {
    for (const source of cameras) this.directory.cameras.set(source.id, source);
    this.timing = { ...defaults, ...timing };
    this.manager = new CameraManager(this.directory, {
      logger: this.log.logger,
      timing: this.timing,
      createIngest: (source) => {
        const ingest = new FakeIngest(source, this.script(source.id));
        this.ingests.push(ingest);
        return ingest;
      },
      createFeed: async (cameraId, desc) => {
        const step = this.feedSteps.shift() ?? this.feedOtherwise;
        if (step instanceof Error) throw step;
        if (typeof step === 'object') await step.held.promise;
        const feed = new FakeFeed(cameraId, desc);
        this.feeds.push(feed);
        if (step !== 'no-rtp') feed.rtpArrives();
        return feed as unknown as CameraFeed;
      },
    });
    this.manager.on('state', (status) => this.states.push(status));
    harnesses.push(this);
  }

  script(cameraId: string): OpenScript {
    let script = this.#scripts.get(cameraId);
    if (!script) {
      script = { queue: [], otherwise: 'ok' };
      this.#scripts.set(cameraId, script);
    }
    return script;
  }

  /** The latest ingest created for a camera. */
  ingest(cameraId: string): FakeIngest {
    const ingest = this.ingests.filter((candidate) => candidate.camera.id === cameraId).at(-1);
    if (!ingest) throw new Error(`no ingest for ${cameraId}`);
    return ingest;
  }

  feedsOf(cameraId: string): FakeFeed[] {
    return this.feeds.filter((feed) => feed.cameraId === cameraId);
  }

  lastFeed(cameraId: string): FakeFeed {
    const feed = this.feedsOf(cameraId).at(-1);
    if (!feed) throw new Error(`no feed for ${cameraId}`);
    return feed;
  }

  statesOf(cameraId: string): CameraStatus[] {
    return this.states.filter((status) => status.cameraId === cameraId);
  }

  stateNames(cameraId: string): CameraState[] {
    return this.statesOf(cameraId).map((status) => status.state);
  }

  status(cameraId: string): CameraStatus {
    const status = this.manager.status(cameraId);
    if (!status) throw new Error(`no session for ${cameraId}`);
    return status;
  }

  /** acquire() with its outcome recorded (never an unhandled rejection). */
  acquire(cameraId: string): Tracked<CameraLease> {
    return track(this.manager.acquire(cameraId));
  }
}

interface Tracked<T> {
  settled: boolean;
  value: T | undefined;
  error: unknown;
}

function track<T>(promise: Promise<T>): Tracked<T> {
  const tracked: Tracked<T> = { settled: false, value: undefined, error: undefined };
  promise.then(
    (value) => Object.assign(tracked, { settled: true, value }),
    (error: unknown) => Object.assign(tracked, { settled: true, error }),
  );
  return tracked;
}

function leaseOf(tracked: Tracked<CameraLease>): CameraLease {
  expect(tracked.settled, 'acquire() answered').to.equal(true);
  expect(tracked.error, 'acquire() error').to.equal(undefined);
  return tracked.value!;
}

function expectRejected(tracked: Tracked<unknown>, code: ErrorCode, details?: Record<string, unknown>): AppError {
  expect(tracked.settled, 'acquire() answered').to.equal(true);
  expect(tracked.error, 'acquire() rejected with an AppError').to.be.instanceOf(AppError);
  const error = tracked.error as AppError;
  expect(error.code).to.equal(code);
  if (details) expect(error.details).to.deep.equal(details);
  return error;
}

/** Math.random fixed for the duration of fn. */
async function withRandom(value: number, fn: () => Promise<void>): Promise<void> {
  const real = Math.random;
  Math.random = () => value;
  try {
    await fn();
  } finally {
    Math.random = real;
  }
}

// ---------------------------------------------------------------------------------------------

describe('CameraManager and CameraSession (fake ingest, fake feeds, fake clock)', () => {
  let clock: FakeClock;

  beforeEach(() => {
    clock = new FakeClock();
    clock.install();
  });

  afterEach(async () => {
    try {
      for (const harness of harnesses.splice(0)) {
        await harness.manager.close();
        for (const ingest of harness.ingests) expect(ingest.running, `ingest ${ingest.camera.id} left running`).to.equal(false);
        for (const feed of harness.feeds) expect(feed.closed, `feed of ${feed.cameraId} left open`).to.equal(true);
      }
      await clock.tick(0);
      expect(clock.pending, 'timers left after close()').to.equal(0);
    } finally {
      clock.uninstall();
    }
  });

  it('the timing used is config.ingest with the schema defaults', () => {
    expect(defaults).to.include({ startTimeoutMs: 15_000, backoffInitialMs: 500, backoffMaxMs: 30_000, idleCloseMs: 30_000 });
  });

  describe('not found', () => {
    it('an unknown camera: not_found, no session, no ingest', async () => {
      const h = new Harness([camera('CAM-1')]);
      const waiter = h.acquire('NOPE');
      await clock.tick();
      const error = expectRejected(waiter, 'not_found');
      expect(error.message).to.equal('no camera NOPE');
      expect(error.status).to.equal(404);
      expect(h.ingests).to.have.length(0);
      expect(h.manager.status('NOPE')).to.equal(undefined);
      expect(h.manager.statuses()).to.deep.equal([]);
      expect(h.states).to.deep.equal([]);
    });

    it("the directory's refusal (camera not viewable) reaches the caller; no session", async () => {
      const h = new Harness([camera('CAM-1')]);
      h.directory.forbidden.add('CAM-1');
      const waiter = h.acquire('CAM-1');
      await clock.tick();
      expectRejected(waiter, 'forbidden');
      expect(h.ingests).to.have.length(0);
      expect(h.manager.session('CAM-1')).to.equal(undefined);
    });
  });

  describe('first viewer', () => {
    it('starts the ingest; the waiter resolves only when the first RTP arrives', async () => {
      const h = new Harness([camera('CAM-1')]);
      h.feedSteps.push('no-rtp');
      const waiter = h.acquire('CAM-1');
      await clock.tick();

      const ingest = h.ingest('CAM-1');
      expect(h.ingests).to.have.length(1);
      expect(ingest.camera).to.equal(h.directory.cameras.get('CAM-1'));
      expect(ingest.opens).to.equal(1);
      const feed = h.lastFeed('CAM-1');
      expect(feed.description).to.deep.equal(description());
      expect(ingest.starts).to.deep.equal([feed.rtpTarget]);
      expect(h.manager.session('CAM-1')!.ingestPid).to.equal(4242);
      expect(waiter.settled, 'answered before any RTP').to.equal(false);
      expect(h.status('CAM-1')).to.include({ state: 'starting', viewers: 1 });

      feed.rtpArrives();
      await clock.tick();
      const lease = leaseOf(waiter);
      expect(lease.cameraId).to.equal('CAM-1');
      expect(lease.feed).to.equal(feed as unknown as CameraFeed);
      expect(h.status('CAM-1')).to.include({ state: 'live', viewers: 1, restarts: 0 });
      expect(h.stateNames('CAM-1')).to.deep.equal(['starting', 'live']);
      expect(clock.pending, 'no start timer left once live').to.equal(0);
    });

    it('a second viewer of a live camera gets the same feed at once, without a new run', async () => {
      const h = new Harness([camera('CAM-1')]);
      const first = leaseOf(await settle(h.acquire('CAM-1')));
      const second = h.acquire('CAM-1');
      await clock.tick();
      expect(leaseOf(second).feed).to.equal(first.feed);
      expect(h.ingest('CAM-1').opens).to.equal(1);
      expect(h.feeds).to.have.length(1);
      expect(h.status('CAM-1').viewers).to.equal(2);
    });

    it('viewers arriving together share one session and one run', async () => {
      const h = new Harness([camera('CAM-1')]);
      h.directory.gate = deferred();
      const waiters = [h.acquire('CAM-1'), h.acquire('CAM-1'), h.acquire('CAM-1')];
      await clock.tick();
      // Each looked the camera up; the first answer creates the session, the others find it.
      expect(h.directory.lookups.length).to.be.at.least(1);
      h.directory.gate.resolve();
      await clock.tick();
      const leases = waiters.map(leaseOf);
      expect(h.ingests).to.have.length(1);
      expect(h.ingest('CAM-1').opens).to.equal(1);
      expect(new Set(leases.map((lease) => lease.feed)).size).to.equal(1);
      expect(h.status('CAM-1').viewers).to.equal(3);
    });

    it('the status carries the transcode reason and the ingest progress', async () => {
      const h = new Harness([camera('CAM-1')]);
      h.script('CAM-1').queue.push(wrap({ ...description(), transcodeReason: 'b_frames' }));
      leaseOf(await settle(h.acquire('CAM-1')));
      h.ingest('CAM-1').progress({ frames: 50, fps: 25, kbps: 1800 });
      expect(h.status('CAM-1').progress).to.deep.equal({ frames: 50, fps: 25, kbps: 1800 });
      clock.now += 1000;
      h.ingest('CAM-1').progress({ frames: 50, fps: 0, kbps: 0 });
      const status = h.status('CAM-1');
      expect(status.transcodeReason).to.equal('b_frames');
      expect(status.progress).to.deep.equal({ frames: 50, fps: 0, kbps: 0 });
      // lastFrameAt moves only when the frame count does.
      expect(status.lastFrameAt).to.equal(clock.now - 1000);
    });
  });

  describe('start timeout', () => {
    const rows: Array<{ name: string; timing?: Partial<CameraTiming>; setup(h: Harness): void; during?(h: Harness): void; feedCreated: boolean }> = [
      { name: 'open() never answers', setup: (h) => h.script('CAM-1').queue.push('hang'), feedCreated: false },
      { name: 'the ingest runs but no RTP arrives', setup: (h) => h.feedSteps.push('no-rtp'), feedCreated: true },
      {
        name: 'ffmpeg reports progress but no RTP reaches the transport',
        setup: (h) => h.feedSteps.push('no-rtp'),
        during: (h) => h.ingest('CAM-1').progress({ frames: 12, fps: 25, kbps: 900 }),
        feedCreated: true,
      },
      { name: 'a shorter configured timeout (2 s), no RTP', timing: { startTimeoutMs: 2000 }, setup: (h) => h.feedSteps.push('no-rtp'), feedCreated: true },
    ];
    for (const row of rows) {
      it(`${row.name}: camera_timeout after startTimeoutMs, not before; ingest stopped`, async () => {
        const h = new Harness([camera('CAM-1')], row.timing);
        row.setup(h);
        const waiter = h.acquire('CAM-1');
        await clock.tick(1000);
        row.during?.(h);
        await clock.tick(h.timing.startTimeoutMs - 1001);
        expect(waiter.settled, 'answered before the timeout').to.equal(false);
        expect(h.ingest('CAM-1').stops).to.equal(0);

        await clock.tick(1);
        const error = expectRejected(waiter, 'camera_timeout', { reason: 'timeout' });
        expect(error.message).to.equal(`no video within ${h.timing.startTimeoutMs} ms`);
        expect(error.status).to.equal(504);
        expect(h.ingest('CAM-1').stops).to.equal(1);
        expect(h.feedsOf('CAM-1')).to.have.length(row.feedCreated ? 1 : 0);
        for (const feed of h.feedsOf('CAM-1')) expect(feed.closed).to.equal(true);
        // Nobody else wanted it: back to idle with the reason, no retry armed.
        expect(h.status('CAM-1')).to.include({ state: 'idle', viewers: 0, reason: 'timeout' });
        expect(h.stateNames('CAM-1')).to.deep.equal(['starting', 'idle']);
        expect(clock.pending).to.equal(0);
        expect(h.log.text).to.include('camera ingest failed');
      });
    }

    it('a feed created after the timeout is closed at once and never used', async () => {
      const h = new Harness([camera('CAM-1')]);
      const held = deferred<void>();
      h.feedSteps.push({ held });
      const waiter = h.acquire('CAM-1');
      await clock.tick(h.timing.startTimeoutMs);
      expectRejected(waiter, 'camera_timeout');
      held.resolve();
      await clock.tick();
      expect(h.feeds).to.have.length(1);
      expect(h.lastFeed('CAM-1').closed).to.equal(true);
      expect(h.ingest('CAM-1').starts).to.have.length(0);
      expect(h.status('CAM-1').state).to.equal('idle');
    });

    it('a late open() answer after the timeout starts nothing', async () => {
      const h = new Harness([camera('CAM-1')]);
      const late = deferred<IngestDescription>();
      h.script('CAM-1').queue.push(late);
      const waiter = h.acquire('CAM-1');
      await clock.tick(h.timing.startTimeoutMs);
      expectRejected(waiter, 'camera_timeout');
      late.resolve(description());
      await clock.tick();
      expect(h.feeds).to.have.length(0);
      expect(h.ingest('CAM-1').starts).to.have.length(0);
    });
  });

  describe('failure to start', () => {
    const rows: Array<{ name: string; setup(h: Harness): void; after?(h: Harness): void; reason: IngestFailureReason; message: string }> = [
      {
        name: 'probe answered 401',
        setup: (h) => h.script('CAM-1').queue.push(new IngestError('unauthorized', 'rtsp://***@10.0.1.64:554/Streaming/Channels/101: Server returned 401 Unauthorized (authorization failed)')),
        reason: 'unauthorized',
        message: 'rtsp://***@10.0.1.64:554/Streaming/Channels/101: Server returned 401 Unauthorized (authorization failed)',
      },
      {
        name: 'probe: unsupported codec',
        setup: (h) => h.script('CAM-1').queue.push(new IngestError('unsupported_codec', 'the camera offers no video stream')),
        reason: 'unsupported_codec',
        message: 'the camera offers no video stream',
      },
      {
        name: 'open() throws a plain Error',
        setup: (h) => h.script('CAM-1').queue.push(new Error('spawn ffprobe ENOENT')),
        reason: 'exited',
        message: 'spawn ffprobe ENOENT',
      },
      {
        name: 'createFeed fails (router closed)',
        setup: (h) => h.feedSteps.push(new Error('Router closed')),
        reason: 'exited',
        message: 'Router closed',
      },
      {
        name: 'ffmpeg exits before the first RTP (404)',
        setup: (h) => h.feedSteps.push('no-rtp'),
        after: (h) => h.ingest('CAM-1').fail('not_found', 'rtsp://***@10.0.1.64:554/Streaming/Channels/101: Server returned 404 Not Found'),
        reason: 'not_found',
        message: 'rtsp://***@10.0.1.64:554/Streaming/Channels/101: Server returned 404 Not Found',
      },
    ];
    for (const row of rows) {
      it(`${row.name}: camera_unavailable with reason ${row.reason}`, async () => {
        const h = new Harness([camera('CAM-1')]);
        row.setup(h);
        const waiter = h.acquire('CAM-1');
        await clock.tick();
        row.after?.(h);
        await clock.tick();
        const error = expectRejected(waiter, 'camera_unavailable', { reason: row.reason });
        expect(error.message).to.equal(row.message);
        expect(error.status).to.equal(502);
        expect(h.status('CAM-1')).to.include({ state: 'idle', viewers: 0, reason: row.reason, message: row.message });
        expect(h.ingest('CAM-1').stops).to.equal(1);
        expect(clock.pending, 'no retry without viewers').to.equal(0);
        expect(h.log.text).to.include(`"reason":"${row.reason}"`);
      });
    }

    it('the next viewer tries again; the reason is kept while starting', async () => {
      const h = new Harness([camera('CAM-1')]);
      h.script('CAM-1').queue.push(new IngestError('unreachable', 'rtsp://10.0.1.64:554/Streaming/Channels/101: Connection refused'));
      const first = h.acquire('CAM-1');
      await clock.tick();
      expectRejected(first, 'camera_unavailable', { reason: 'unreachable' });
      h.feedSteps.push('no-rtp');
      const second = h.acquire('CAM-1');
      await clock.tick();
      expect(h.status('CAM-1')).to.include({ state: 'starting', reason: 'unreachable' });
      h.lastFeed('CAM-1').rtpArrives();
      await clock.tick();
      leaseOf(second);
      expect(h.ingests).to.have.length(1);
      expect(h.ingest('CAM-1').opens).to.equal(2);
      expect(h.status('CAM-1').reason).to.equal(undefined);
    });

    it('a failing ingest stop() is logged and the session still settles', async () => {
      const h = new Harness([camera('CAM-1')]);
      const lease = leaseOf(await settle(h.acquire('CAM-1')));
      h.ingest('CAM-1').stopError = new Error('kill EPERM');
      lease.release();
      await clock.tick(h.timing.idleCloseMs);
      expect(h.status('CAM-1').state).to.equal('idle');
      expect(h.log.text).to.include('stopping ingest failed');
      expect(h.log.text).to.include('kill EPERM');
    });
  });

  describe('failure while live: backoff with jitter', () => {
    /** A live camera with one viewer, then every further open() failing. */
    async function failingLiveCamera(timing?: Partial<CameraTiming>): Promise<{ h: Harness; lease: CameraLease }> {
      const h = new Harness([camera('CAM-1')], timing);
      const lease = leaseOf(await settle(h.acquire('CAM-1')));
      h.script('CAM-1').otherwise = new IngestError('unreachable', 'rtsp://10.0.1.64:554/Streaming/Channels/101: Connection refused');
      return { h, lease };
    }

    /** The ingest dies, then each retry fails; returns retryInMs of each backoff, checking the timer honours it. */
    async function retries(h: Harness, count: number): Promise<number[]> {
      const ingest = h.ingest('CAM-1');
      ingest.fail('stalled', 'no video from the camera for 5000 ms');
      await clock.tick();
      const delays: number[] = [];
      for (let attempt = 1; attempt <= count; attempt++) {
        const status = h.status('CAM-1');
        expect(status.state).to.equal('backoff');
        expect(status.restarts).to.equal(attempt);
        expect(status.viewers, 'the viewer stays counted').to.equal(1);
        const delay = status.retryInMs!;
        delays.push(delay);
        const opens = ingest.opens;
        await clock.tick(delay - 1);
        expect(ingest.opens, `attempt ${attempt}: restarted before retryInMs`).to.equal(opens);
        await clock.tick(1);
        expect(ingest.opens, `attempt ${attempt}: restarted after retryInMs`).to.equal(opens + 1);
      }
      return delays;
    }

    const exact: Array<{ random: number; delays: number[] }> = [
      { random: 0, delays: [400, 800, 1600, 3200, 6400, 12_800, 24_000, 24_000] },
      { random: 0.5, delays: [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000] },
      { random: 0.999999, delays: [600, 1200, 2400, 4800, 9600, 19_200, 30_000, 30_000] },
    ];
    for (const row of exact) {
      it(`Math.random() = ${row.random}: retryInMs ${row.delays.join(', ')}`, async () => {
        await withRandom(row.random, async () => {
          const { h } = await failingLiveCamera();
          expect(await retries(h, row.delays.length)).to.deep.equal(row.delays);
        });
      });
    }

    it('real jitter: within ±20 % of the doubling base, capped at backoffMaxMs, growing until the cap', async () => {
      const { h } = await failingLiveCamera({ backoffInitialMs: 100, backoffMaxMs: 1000 });
      const delays = await retries(h, 10);
      const bases = [100, 200, 400, 800, 1000, 1000, 1000, 1000, 1000, 1000];
      delays.forEach((delay, i) => {
        const base = bases[i]!;
        expect(delay, `attempt ${i + 1}`).to.be.within(Math.round(base * 0.8), Math.min(1000, Math.round(base * 1.2)));
      });
      for (let i = 1; i < 4; i++) expect(delays[i]!, `attempt ${i + 1} grows`).to.be.greaterThan(delays[i - 1]!);
    });

    it('the backoff resets after a stable run (live over 30 s), not after a short one', async () => {
      await withRandom(0.5, async () => {
        const { h, lease } = await failingLiveCamera();
        expect(await retries(h, 3)).to.deep.equal([500, 1000, 2000]);
        await clock.tick();
        // The third retry failed: the fourth is armed (4000 ms); let it succeed.
        expect(h.status('CAM-1').retryInMs).to.equal(4000);
        h.script('CAM-1').otherwise = 'ok';
        await clock.tick(4000);
        expect(h.status('CAM-1').state).to.equal('live');
        expect(lease.feed).to.equal(h.lastFeed('CAM-1') as unknown as CameraFeed);

        // A short run: the next failure keeps growing.
        await clock.tick(10_000);
        h.ingest('CAM-1').fail('exited', 'ffmpeg exited (code 1)');
        await clock.tick();
        expect(h.status('CAM-1').retryInMs).to.equal(8000);
        await clock.tick(8000);
        expect(h.status('CAM-1').state).to.equal('live');

        // A stable run: back to backoffInitialMs.
        await clock.tick(30_001);
        h.ingest('CAM-1').fail('stalled', 'no video from the camera for 5000 ms');
        await clock.tick();
        expect(h.status('CAM-1')).to.include({ state: 'backoff', retryInMs: 500, reason: 'stalled', restarts: 6 });
      });
    });

    it('the media worker closing the feed restarts the camera; the lease follows the new feed', async () => {
      const h = new Harness([camera('CAM-1')]);
      const lease = leaseOf(await settle(h.acquire('CAM-1')));
      const first = h.lastFeed('CAM-1');
      first.close();
      await clock.tick();
      expect(h.status('CAM-1')).to.include({ state: 'backoff', reason: 'exited', message: 'the media worker hosting the camera closed' });
      expect(lease.feed).to.equal(undefined);
      expect(h.ingest('CAM-1').stops).to.equal(1);
      await clock.tick(h.status('CAM-1').retryInMs!);
      const second = h.lastFeed('CAM-1');
      expect(second).not.to.equal(first);
      expect(h.status('CAM-1').state).to.equal('live');
      expect(lease.feed).to.equal(second as unknown as CameraFeed);
      expect(h.ingest('CAM-1').starts).to.deep.equal([first.rtpTarget, second.rtpTarget]);
    });

    it('the last viewer leaving during backoff abandons the retry', async () => {
      const h = new Harness([camera('CAM-1')]);
      const lease = leaseOf(await settle(h.acquire('CAM-1')));
      h.ingest('CAM-1').fail('stalled', 'no video from the camera for 5000 ms');
      await clock.tick();
      expect(h.status('CAM-1').state).to.equal('backoff');
      lease.release();
      await clock.tick();
      expect(h.status('CAM-1')).to.include({ state: 'idle', viewers: 0 });
      expect(clock.pending).to.equal(0);
      await clock.tick(h.timing.backoffMaxMs * 2);
      expect(h.ingest('CAM-1').opens).to.equal(1);
    });

    it('failing with no viewer (inside the idle window) goes idle, no retry', async () => {
      const h = new Harness([camera('CAM-1')]);
      leaseOf(await settle(h.acquire('CAM-1'))).release();
      await clock.tick(1000);
      h.ingest('CAM-1').fail('stalled', 'no video from the camera for 5000 ms');
      await clock.tick();
      expect(h.status('CAM-1')).to.include({ state: 'idle', reason: 'stalled', viewers: 0 });
      expect(clock.pending, 'idle timer cleared, no backoff').to.equal(0);
      expect(h.ingest('CAM-1').stops).to.equal(1);
    });
  });

  describe('idle close', () => {
    for (const idleCloseMs of [30_000, 5000]) {
      it(`closes ${idleCloseMs} ms after the last lease is released, not before`, async () => {
        const h = new Harness([camera('CAM-1')], { idleCloseMs });
        const lease = leaseOf(await settle(h.acquire('CAM-1')));
        const feed = h.lastFeed('CAM-1');
        lease.release();
        expect(lease.feed, 'a released lease shows no feed').to.equal(undefined);
        await clock.tick(idleCloseMs - 1);
        expect(h.status('CAM-1')).to.include({ state: 'live', viewers: 0 });
        expect(h.ingest('CAM-1').stops).to.equal(0);
        expect(feed.closed).to.equal(false);

        await clock.tick(1);
        expect(h.status('CAM-1')).to.include({ state: 'idle', viewers: 0 });
        expect(h.ingest('CAM-1').stops).to.equal(1);
        expect(h.ingest('CAM-1').running).to.equal(false);
        expect(feed.closed).to.equal(true);
        expect(h.stateNames('CAM-1')).to.deep.equal(['starting', 'live', 'live', 'closing', 'idle']);
        expect(clock.pending).to.equal(0);
      });
    }

    it('idleCloseMs 0 closes at once', async () => {
      const h = new Harness([camera('CAM-1')], { idleCloseMs: 0 });
      leaseOf(await settle(h.acquire('CAM-1'))).release();
      await clock.tick();
      expect(h.status('CAM-1').state).to.equal('idle');
      expect(h.ingest('CAM-1').stops).to.equal(1);
    });

    it('a viewer returning inside the window cancels the close and reuses the run', async () => {
      const h = new Harness([camera('CAM-1')]);
      leaseOf(await settle(h.acquire('CAM-1'))).release();
      await clock.tick(h.timing.idleCloseMs - 1000);
      const again = leaseOf(await settle(h.acquire('CAM-1')));
      expect(again.feed).to.equal(h.lastFeed('CAM-1') as unknown as CameraFeed);
      await clock.tick(h.timing.idleCloseMs * 3);
      expect(h.status('CAM-1').state).to.equal('live');
      expect(h.ingest('CAM-1').opens).to.equal(1);
      again.release();
      await clock.tick(h.timing.idleCloseMs);
      expect(h.status('CAM-1').state).to.equal('idle');
    });

    it('not while another viewer holds a lease; release() is idempotent', async () => {
      const h = new Harness([camera('CAM-1')]);
      const a = leaseOf(await settle(h.acquire('CAM-1')));
      const b = leaseOf(await settle(h.acquire('CAM-1')));
      a.release();
      a.release();
      expect(h.status('CAM-1').viewers).to.equal(1);
      await clock.tick(h.timing.idleCloseMs * 4);
      expect(h.status('CAM-1').state).to.equal('live');
      expect(clock.pending).to.equal(0);
      b.release();
      await clock.tick(h.timing.idleCloseMs);
      expect(h.status('CAM-1')).to.include({ state: 'idle', viewers: 0 });
    });

    it('after an idle close the next viewer starts a new run on the same ingest', async () => {
      const h = new Harness([camera('CAM-1')]);
      leaseOf(await settle(h.acquire('CAM-1'))).release();
      await clock.tick(h.timing.idleCloseMs);
      const lease = leaseOf(await settle(h.acquire('CAM-1')));
      expect(h.ingests).to.have.length(1);
      expect(h.ingest('CAM-1').opens).to.equal(2);
      expect(h.feeds).to.have.length(2);
      expect(lease.feed).to.equal(h.feeds[1] as unknown as CameraFeed);
    });
  });

  describe('always-on cameras', () => {
    it('start with the manager, stay live with no viewer, and restart after a failure', async () => {
      const h = new Harness([camera('ALWAYS', { alwaysOn: true }), camera('ON-DEMAND')]);
      await h.manager.start();
      await clock.tick();
      expect(h.status('ALWAYS')).to.include({ state: 'live', viewers: 0 });
      expect(h.manager.session('ON-DEMAND')).to.equal(undefined);
      expect(h.ingests.map((ingest) => ingest.camera.id)).to.deep.equal(['ALWAYS']);

      await clock.tick(h.timing.idleCloseMs * 10);
      expect(h.status('ALWAYS').state).to.equal('live');
      expect(clock.pending).to.equal(0);

      // A viewer coming and going changes nothing.
      leaseOf(await settle(h.acquire('ALWAYS'))).release();
      await clock.tick(h.timing.idleCloseMs * 2);
      expect(h.status('ALWAYS')).to.include({ state: 'live', viewers: 0 });
      expect(h.ingest('ALWAYS').stops).to.equal(0);

      // A failure with nobody watching still retries.
      h.ingest('ALWAYS').fail('stalled', 'no video from the camera for 5000 ms');
      await clock.tick();
      const status = h.status('ALWAYS');
      expect(status).to.include({ state: 'backoff', viewers: 0, restarts: 1 });
      expect(status.retryInMs).to.be.within(400, 600);
      await clock.tick(status.retryInMs!);
      expect(h.status('ALWAYS').state).to.equal('live');
      expect(h.ingest('ALWAYS').opens).to.equal(2);
      expect(h.stateNames('ALWAYS')).to.deep.equal(['starting', 'live', 'live', 'live', 'backoff', 'starting', 'live']);
    });
  });

  describe('shutting down', () => {
    const rows: Array<{ name: string; arrange(h: Harness): Promise<{ waiters: Tracked<CameraLease>[]; leases: CameraLease[] }> }> = [
      {
        name: 'while the camera starts',
        arrange: async (h) => {
          h.script('CAM-1').queue.push('hang');
          const waiters = [h.acquire('CAM-1'), h.acquire('CAM-1')];
          await clock.tick(1000);
          return { waiters, leases: [] };
        },
      },
      {
        name: 'while waiting for the first RTP',
        arrange: async (h) => {
          h.feedSteps.push('no-rtp');
          const waiters = [h.acquire('CAM-1')];
          await clock.tick(1000);
          return { waiters, leases: [] };
        },
      },
      {
        name: 'during backoff, with a lease and a waiter',
        arrange: async (h) => {
          const lease = leaseOf(await settle(h.acquire('CAM-1')));
          h.ingest('CAM-1').fail('stalled', 'no video from the camera for 5000 ms');
          await clock.tick();
          const waiters = [h.acquire('CAM-1')];
          await clock.tick();
          return { waiters, leases: [lease] };
        },
      },
      {
        name: 'while live, with leases',
        arrange: async (h) => {
          const leases = [leaseOf(await settle(h.acquire('CAM-1'))), leaseOf(await settle(h.acquire('CAM-1')))];
          return { waiters: [], leases };
        },
      },
    ];
    for (const row of rows) {
      it(`${row.name}: every waiter gets shutting_down, the ingest stops, no timer is left`, async () => {
        const h = new Harness([camera('CAM-1')]);
        const { waiters, leases } = await row.arrange(h);
        for (const waiter of waiters) expect(waiter.settled).to.equal(false);
        const opens = h.ingest('CAM-1').opens;

        await h.manager.close();
        await clock.tick();
        for (const waiter of waiters) {
          const error = expectRejected(waiter, 'shutting_down');
          expect(error.status).to.equal(503);
        }
        for (const lease of leases) {
          expect(lease.feed).to.equal(undefined);
          lease.release();
        }
        expect(h.ingest('CAM-1').stops).to.be.at.least(1);
        expect(h.ingest('CAM-1').running).to.equal(false);
        for (const feed of h.feeds) expect(feed.closed).to.equal(true);
        expect(h.stateNames('CAM-1').at(-1)).to.equal('closed');
        expect(h.manager.statuses()).to.deep.equal([]);
        expect(clock.pending).to.equal(0);
        await clock.tick(h.timing.backoffMaxMs * 2);
        expect(h.ingest('CAM-1').opens, 'nothing restarts after close()').to.equal(opens);

        for (const id of ['CAM-1', 'NOPE']) expectRejected(await settle(h.acquire(id)), 'shutting_down');
      });
    }

    it('a lookup in flight when close() is called: shutting_down, no session created', async () => {
      const h = new Harness([camera('CAM-1')]);
      h.directory.gate = deferred();
      const waiter = h.acquire('CAM-1');
      await clock.tick();
      await h.manager.close();
      h.directory.gate.resolve();
      await clock.tick();
      expectRejected(waiter, 'shutting_down');
      expect(h.ingests).to.have.length(0);
    });

    it('close() twice is harmless', async () => {
      const h = new Harness([camera('CAM-1')]);
      leaseOf(await settle(h.acquire('CAM-1')));
      await Promise.all([h.manager.close(), h.manager.close()]);
      await h.manager.close();
      expect(h.ingest('CAM-1').stops).to.equal(1);
      expect(h.stateNames('CAM-1').filter((state) => state === 'closed')).to.have.length(1);
    });
  });

  describe('withdrawal', () => {
    it('final: viewers are told once, the session stops, the camera is not restarted', async () => {
      const h = new Harness([camera('CAM-1')]);
      const leases = [leaseOf(await settle(h.acquire('CAM-1'))), leaseOf(await settle(h.acquire('CAM-1')))];
      const feed = h.lastFeed('CAM-1');
      clock.now += 5000;
      const withdrawn = h.manager.withdraw('CAM-1', 'revoked: agreement ended', true);
      // Told first, before the ingest has stopped.
      const told = h.statesOf('CAM-1').at(-1)!;
      expect(told).to.deep.include({ state: 'closed', reason: 'withdrawn', message: 'revoked: agreement ended', viewers: 2, since: clock.now });
      await withdrawn;
      // The catalog now refuses it, as CameraCatalog.asDirectory() does.
      h.directory.forbidden.add('CAM-1');

      expect(h.statesOf('CAM-1').filter((status) => status.state === 'closed'), 'said once').to.have.length(1);
      expect(h.statesOf('CAM-1').at(-1)).to.equal(told);
      expect(feed.closed, "the feed (and its viewers' consumers) closed").to.equal(true);
      for (const lease of leases) expect(lease.feed).to.equal(undefined);
      expect(h.ingest('CAM-1').stops).to.equal(1);
      expect(h.manager.session('CAM-1')).to.equal(undefined);
      expect(h.manager.status('CAM-1')).to.equal(undefined);
      expect(clock.pending).to.equal(0);

      for (const lease of leases) lease.release();
      await clock.tick(h.timing.backoffMaxMs * 4);
      expect(h.ingest('CAM-1').opens, 'not restarted').to.equal(1);
      expectRejected(await settle(h.acquire('CAM-1')), 'forbidden');
      expect(h.ingests).to.have.length(1);
    });

    it('final during backoff: the pending retry never runs', async () => {
      const h = new Harness([camera('CAM-1')]);
      leaseOf(await settle(h.acquire('CAM-1')));
      h.ingest('CAM-1').fail('stalled', 'no video from the camera for 5000 ms');
      await clock.tick();
      expect(h.status('CAM-1').state).to.equal('backoff');
      await h.manager.withdraw('CAM-1', 'suspended by the administrator', true);
      expect(clock.pending).to.equal(0);
      await clock.tick(h.timing.backoffMaxMs * 4);
      expect(h.ingest('CAM-1').opens).to.equal(1);
    });

    it('final, always-on camera: not restarted', async () => {
      const h = new Harness([camera('ALWAYS', { alwaysOn: true })]);
      await h.manager.start();
      await clock.tick();
      await h.manager.withdraw('ALWAYS', 'revoked', true);
      h.directory.cameras.delete('ALWAYS');
      await clock.tick(h.timing.backoffMaxMs * 4);
      expect(h.ingests).to.have.length(1);
      expect(h.ingest('ALWAYS').opens).to.equal(1);
      expect(h.manager.session('ALWAYS')).to.equal(undefined);
    });

    it("not final ('changed'): viewers told, the next viewer gets a new session with the new record", async () => {
      const h = new Harness([camera('CAM-1')]);
      const lease = leaseOf(await settle(h.acquire('CAM-1')));
      const moved = camera('CAM-1', { url: 'rtsp://10.9.9.9:554/Streaming/Channels/102' });
      h.directory.cameras.set('CAM-1', moved);
      await h.manager.withdraw('CAM-1', 'URL changed', false);
      expect(h.statesOf('CAM-1').at(-1)).to.deep.include({ state: 'closed', reason: 'changed', message: 'URL changed' });
      expect(lease.feed).to.equal(undefined);
      lease.release();

      const again = leaseOf(await settle(h.acquire('CAM-1')));
      expect(h.ingests).to.have.length(2);
      expect(h.ingest('CAM-1').camera).to.equal(moved);
      expect(h.ingests[0]!.stops).to.equal(1);
      expect(again.feed).to.equal(h.lastFeed('CAM-1') as unknown as CameraFeed);
      expect(h.status('CAM-1')).to.include({ state: 'live', viewers: 1 });
    });

    it(
      'not final, always-on camera: restarted with no viewer',
      async () => {
        const h = new Harness([camera('ALWAYS', { alwaysOn: true })]);
        await h.manager.start();
        await clock.tick();
        await h.manager.withdraw('ALWAYS', 'URL changed', false);
        await clock.tick(h.timing.backoffMaxMs);
        expect(h.manager.status('ALWAYS')?.state).to.equal('live');
      },
    );

    it('viewers still waiting get an answer', async () => {
      const h = new Harness([camera('CAM-1')]);
      h.script('CAM-1').queue.push('hang');
      const waiters = [h.acquire('CAM-1'), h.acquire('CAM-1')];
      await clock.tick();
      await h.manager.withdraw('CAM-1', 'revoked: agreement ended', true);
      await clock.tick();
      for (const waiter of waiters) {
        expect(waiter.settled).to.equal(true);
        expect(waiter.error).to.be.instanceOf(AppError);
      }
      expect(h.ingest('CAM-1').stops).to.equal(1);
    });

    it(
      "viewers still waiting are told why, not 'shutting_down'",
      async () => {
        const h = new Harness([camera('CAM-1')]);
        h.script('CAM-1').queue.push('hang');
        const waiter = h.acquire('CAM-1');
        await clock.tick();
        await h.manager.withdraw('CAM-1', 'revoked: agreement ended', true);
        await clock.tick();
        expect(waiter.error).to.be.instanceOf(AppError);
        expect((waiter.error as AppError).code).not.to.equal('shutting_down');
        expect((waiter.error as AppError).message).to.include('revoked: agreement ended');
      },
    );

    it('a camera without a session, or an unknown one: nothing happens', async () => {
      const h = new Harness([camera('CAM-1')]);
      await h.manager.withdraw('CAM-1', 'revoked', true);
      await h.manager.withdraw('NOPE', 'revoked', true);
      expect(h.states).to.deep.equal([]);
      expect(h.ingests).to.have.length(0);
    });
  });

  describe('every waiter gets an answer, on every path', () => {
    const rows: Array<{
      path: string;
      setup?(h: Harness): void;
      act(h: Harness): Promise<void>;
      /** A lease for each, or a rejection (with this code, when one is given). */
      expect: 'lease' | { code?: ErrorCode; details?: Record<string, unknown> };
    }> = [
      { path: 'live', act: async () => clock.tick(), expect: 'lease' },
      {
        path: 'failed',
        setup: (h) => h.script('CAM-1').queue.push(new IngestError('unauthorized', 'Server returned 401 Unauthorized (authorization failed)')),
        act: async () => clock.tick(),
        expect: { code: 'camera_unavailable', details: { reason: 'unauthorized' } },
      },
      {
        path: 'ingest died before the first RTP',
        setup: (h) => h.feedSteps.push('no-rtp'),
        act: async (h) => {
          await clock.tick();
          h.ingest('CAM-1').fail('unreachable', 'Connection refused');
          await clock.tick();
        },
        expect: { code: 'camera_unavailable', details: { reason: 'unreachable' } },
      },
      { path: 'timed out', setup: (h) => h.script('CAM-1').queue.push('hang'), act: async (h) => clock.tick(h.timing.startTimeoutMs), expect: { code: 'camera_timeout', details: { reason: 'timeout' } } },
      {
        path: 'shutting down',
        setup: (h) => h.script('CAM-1').queue.push('hang'),
        act: async (h) => {
          await clock.tick();
          await h.manager.close();
        },
        expect: { code: 'shutting_down' },
      },
      {
        path: 'withdrawn',
        setup: (h) => h.script('CAM-1').queue.push('hang'),
        act: async (h) => {
          await clock.tick();
          await h.manager.withdraw('CAM-1', 'revoked', true);
        },
        expect: { code: 'forbidden' },
      },
    ];
    for (const row of rows) {
      it(`${row.path}: three waiters, three answers`, async () => {
        const h = new Harness([camera('CAM-1')]);
        row.setup?.(h);
        const waiters = [h.acquire('CAM-1'), h.acquire('CAM-1'), h.acquire('CAM-1')];
        await row.act(h);
        await clock.tick();
        if (row.expect === 'lease') {
          const leases = waiters.map(leaseOf);
          expect(new Set(leases.map((lease) => lease.feed)).size).to.equal(1);
          expect(h.status('CAM-1').viewers).to.equal(3);
        } else {
          for (const waiter of waiters) {
            if (row.expect.code) expectRejected(waiter, row.expect.code, row.expect.details);
            else expect(waiter.settled && waiter.error instanceof AppError, 'rejected with an AppError').to.equal(true);
          }
          // Rejected viewers are counted out again.
          expect(h.manager.status('CAM-1')?.viewers ?? 0).to.equal(0);
        }
      });
    }

    it('a lease holder and waiters during backoff: the waiters are answered on the next failure, the holder stays', async () => {
      await withRandom(0.5, async () => {
        const h = new Harness([camera('CAM-1')]);
        leaseOf(await settle(h.acquire('CAM-1')));
        h.script('CAM-1').otherwise = new IngestError('unreachable', 'Connection refused');
        h.ingest('CAM-1').fail('stalled', 'no video from the camera for 5000 ms');
        await clock.tick();
        const waiters = [h.acquire('CAM-1'), h.acquire('CAM-1')];
        await clock.tick();
        expect(h.status('CAM-1')).to.include({ state: 'backoff', viewers: 3 });
        await clock.tick(500);
        for (const waiter of waiters) expectRejected(waiter, 'camera_unavailable', { reason: 'unreachable' });
        expect(h.status('CAM-1')).to.include({ state: 'backoff', viewers: 1, retryInMs: 1000 });
      });
    });
  });

  describe("state events ('state', CameraStatus) in order", () => {
    it('a full life: start, second viewer, failure, retry, viewers leave, idle close', async () => {
      await withRandom(0.5, async () => {
        const h = new Harness([camera('CAM-1')]);
        const t0 = clock.now;
        const a = leaseOf(await settle(h.acquire('CAM-1')));
        const b = leaseOf(await settle(h.acquire('CAM-1')));
        await clock.tick(60_000);
        h.ingest('CAM-1').fail('stalled', 'no video from the camera for 5000 ms');
        await clock.tick(500);
        a.release();
        b.release();
        await clock.tick(h.timing.idleCloseMs);

        const seen = h.statesOf('CAM-1').map(({ state, viewers, reason, retryInMs, restarts, since }) => ({ state, viewers, reason, retryInMs, restarts, at: since - t0 }));
        expect(seen).to.deep.equal([
          { state: 'starting', viewers: 1, reason: undefined, retryInMs: undefined, restarts: 0, at: 0 },
          { state: 'live', viewers: 1, reason: undefined, retryInMs: undefined, restarts: 0, at: 0 },
          { state: 'live', viewers: 2, reason: undefined, retryInMs: undefined, restarts: 0, at: 0 },
          { state: 'backoff', viewers: 2, reason: 'stalled', retryInMs: 500, restarts: 1, at: 60_000 },
          { state: 'starting', viewers: 2, reason: 'stalled', retryInMs: undefined, restarts: 1, at: 60_500 },
          { state: 'live', viewers: 2, reason: undefined, retryInMs: undefined, restarts: 1, at: 60_500 },
          { state: 'live', viewers: 1, reason: undefined, retryInMs: undefined, restarts: 1, at: 60_500 },
          { state: 'live', viewers: 0, reason: undefined, retryInMs: undefined, restarts: 1, at: 60_500 },
          { state: 'closing', viewers: 0, reason: undefined, retryInMs: undefined, restarts: 1, at: 90_500 },
          { state: 'idle', viewers: 0, reason: undefined, retryInMs: undefined, restarts: 1, at: 90_500 },
        ]);
        // The manager relays exactly the session's events.
        expect(h.states.every((status) => status.cameraId === 'CAM-1')).to.equal(true);
      });
    });

    it('events of different cameras are kept apart; statuses() lists every session', async () => {
      const h = new Harness([camera('A'), camera('B')]);
      h.script('B').queue.push(new IngestError('not_found', 'Server returned 404 Not Found'));
      const a = h.acquire('A');
      const b = h.acquire('B');
      await clock.tick();
      leaseOf(a);
      expectRejected(b, 'camera_unavailable', { reason: 'not_found' });
      expect(h.stateNames('A')).to.deep.equal(['starting', 'live']);
      expect(h.stateNames('B')).to.deep.equal(['starting', 'idle']);
      expect(h.manager.statuses().map(({ cameraId, state }) => ({ cameraId, state }))).to.deep.equal([
        { cameraId: 'A', state: 'live' },
        { cameraId: 'B', state: 'idle' },
      ]);
      // Statuses carry no secrets.
      expect(JSON.stringify(h.states)).not.to.include('Hik12345');
    });
  });
});

/** Lets the fake clock settle everything currently possible, then returns the tracked promise. */
async function settle<T>(tracked: Tracked<T>): Promise<Tracked<T>> {
  await flush();
  return tracked;
}

/** A Deferred already resolved with `value` (an open() step returning a given description). */
function wrap(value: IngestDescription): Deferred<IngestDescription> {
  const step = deferred<IngestDescription>();
  step.resolve(value);
  return step;
}
