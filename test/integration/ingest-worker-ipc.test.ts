import { expect } from 'chai';
import fc from 'fast-check';
import { IngestWorker } from '../../workers/IngestWorker.ts';
import type { ToWorker } from '../../workers/ingestProtocol.ts';
import { fromWorkerSchema, toWorkerSchema } from '../../workers/ingestProtocol.ts';

// The ingest workers' IPC is an entry point like any other: whatever arrives, a worker neither
// crashes nor acts on an invalid message, and a request that does not parse is still answered.

const settings = { engine: 'auto' as const, ffmpegPath: 'ffmpeg', highProfile: 'relabel' as const, transcodeKbps: 800, rtspTimeoutMs: 500, stallTimeoutMs: 2000, firstFrameTimeoutMs: 5000 };

/**
 * Valid messages, then the same with one field replaced by anything. Request ids stay far above the
 * ones IngestWorker.request() numbers from 1, so an answer to a fuzzed message never settles the
 * test's own requests below.
 */
const fuzzId = fc.integer({ min: 1_000_000_000, max: 2_000_000_000 });
function messages(): fc.Arbitrary<unknown> {
  const key = fc.oneof(fc.string({ maxLength: 120 }), fc.constantFrom('cam-1', ''));
  const valid = fc.oneof(
    fc.record({ type: fc.constant('open'), id: fuzzId, key, camera: fc.record({ id: fc.string({ minLength: 1, maxLength: 20 }), url: fc.constantFrom('rtsp://127.0.0.1:1/none', 'rtsp://[::1', 'http://x', ''), transport: fc.constantFrom('tcp', 'udp') }) }),
    fc.record({ type: fc.constant('start'), key, target: fc.record({ ip: fc.constant('127.0.0.1'), rtpPort: fc.integer({ min: 1, max: 65535 }), rtcpPort: fc.integer({ min: 1, max: 65535 }) }) }),
    fc.record({ type: fc.constantFrom('stop', 'close'), id: fuzzId, key }),
    fc.record({ type: fc.constant('keyframe'), key }),
    fc.record({ type: fc.constant('init'), settings: fc.constant(settings) }),
  );
  const mutated = fc.tuple(valid, fc.string({ maxLength: 12 }).filter((field) => field !== 'id'), fc.jsonValue()).map(([message, field, value]) => ({ ...(message as object), [field]: value }));
  return fc.oneof(valid, mutated, fc.jsonValue(), fc.record({ id: fuzzId, type: fc.string() }));
}

describe('ingest worker IPC under hostile messages', function () {
  this.timeout(60_000);
  let worker: IngestWorker | undefined;
  after(async () => worker?.close());

  it('never crashes, answers a request it cannot parse with a clear error, and still serves well-formed ones', async () => {
    worker = await IngestWorker.start(settings);
    const w = worker;
    let sent = 0;
    fc.assert(
      fc.property(messages(), (message) => {
        // Schema checks never throw, whatever the input.
        toWorkerSchema.safeParse(message);
        fromWorkerSchema.safeParse(message);
        w.send(message as ToWorker);
        sent++;
      }),
      { numRuns: 400 },
    );
    // A request that does not parse is answered (not left waiting), with what was wrong.
    const malformed = await w.request({ type: 'open', key: 'bad', camera: { id: 'bad', url: 'rtsp://127.0.0.1:1/', transport: 'carrier-pigeon' } } as never).then(
      () => undefined,
      (caught: Error & { reason?: string }) => caught,
    );
    expect(malformed?.reason).to.equal('exited');
    expect(malformed?.message).to.match(/invalid request to the ingest worker/);
    // The worker is alive and still serves a well-formed request (a camera that refuses the connection).
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(w.alive).to.equal(true);
    const error = await w.request({ type: 'open', key: 'after-fuzz', camera: { id: 'after', url: 'rtsp://127.0.0.1:1/none', transport: 'tcp' } }).then(
      () => undefined,
      (caught: Error & { reason?: string }) => caught,
    );
    expect(error?.reason).to.equal('unreachable');
    expect(w.rejected, 'nothing the worker sent back failed validation').to.equal(0);
    console.log(`      ${sent} messages sent; worker alive, RSS ${(w.stats.residentBytes / 2 ** 20).toFixed(0)} MB`);
  });
});
