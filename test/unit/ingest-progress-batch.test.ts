import { expect } from 'chai';
import { fromWorkerSchema, MAX_PROGRESS_BATCH, progressEntries } from '../../workers/ingestProtocol.ts';

// The ingest worker sends its cameras' progress gathered in one message (issue 20): the server
// takes the entries that validate and drops an invalid one alone, never the whole batch.
describe('ingest worker progress batches', function () {
  const good = (key: string) => ({ key, pid: null, progress: { frames: 250, fps: 25, kbps: 800, packets: 900, bytes: 1_000_000, lost: 0, jitterMs: 0.4, width: 640, height: 360 } });

  it('keeps the valid entries and counts the invalid ones (a negative rate, an unknown field, not an object)', function () {
    const batch = { type: 'progressBatch', entries: [good('cam-1'), { ...good('cam-2'), progress: { ...good('cam-2').progress, fps: -1 } }, { ...good('cam-3'), extra: 1 }, 'nonsense', null, good('cam-4')] };
    const parsed = fromWorkerSchema.safeParse(batch);
    expect(parsed.success).to.equal(true);
    const { valid, rejected } = progressEntries((parsed.data as { entries: unknown[] }).entries);
    expect(valid.map((entry) => entry.key)).to.deep.equal(['cam-1', 'cam-4']);
    expect(rejected).to.equal(4);
    expect(valid[0]).to.deep.equal(good('cam-1'));
  });

  it('refuses a batch larger than MAX_PROGRESS_BATCH or whose entries are not a list', function () {
    expect(fromWorkerSchema.safeParse({ type: 'progressBatch', entries: Array.from({ length: MAX_PROGRESS_BATCH + 1 }, (_, i) => good(`cam-${i}`)) }).success).to.equal(false);
    expect(fromWorkerSchema.safeParse({ type: 'progressBatch', entries: { 0: good('cam-1') } }).success).to.equal(false);
    expect(fromWorkerSchema.safeParse({ type: 'progressBatch', entries: [], more: true }).success).to.equal(false);
  });
});
