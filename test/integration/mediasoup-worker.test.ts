import { readlinkSync, existsSync } from 'node:fs';
import { expect } from 'chai';
import * as mediasoup from 'mediasoup';
import { workerBinPath, mediasoupVersion, osRelease, cacheRoot } from '../../server/toolchain.ts';
import { join } from 'node:path';

describe('mediasoup worker built by bootstrap', () => {
  it('runs the binary at the cache path computed from the cache key, answers dump(), closes cleanly', async () => {
    const expected = join(cacheRoot(), 'mediasoup-worker', `${mediasoupVersion()}-${osRelease()}`, 'mediasoup-worker');
    expect(workerBinPath()).to.equal(expected);
    expect(mediasoupVersion()).to.equal('3.12.16');
    expect(existsSync(expected)).to.equal(true);

    const worker = await mediasoup.createWorker({ logLevel: 'warn' });
    const closed = new Promise<void>((resolve) => worker.observer.once('close', () => resolve()));
    try {
      expect(readlinkSync(`/proc/${worker.pid}/exe`)).to.equal(expected);
      const dump = await worker.dump();
      expect(dump.pid).to.equal(worker.pid);
      expect(dump.routerIds).to.deep.equal([]);
      const router = await worker.createRouter({ mediaCodecs: [] });
      expect((await worker.dump()).routerIds).to.deep.equal([router.id]);
    } finally {
      worker.close();
    }
    await closed;
    expect(worker.closed).to.equal(true);
    // The process is gone once close() returns and the channel is torn down.
    const deadline = Date.now() + 5000;
    while (existsSync(`/proc/${worker.pid}`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(`/proc/${worker.pid}`), 'worker process still alive after close').to.equal(false);
  });
});
