import { expect } from 'chai';
import { formatSpread, median, percentile, spread } from '../../scripts/bench/stats.ts';
import { fmtSpread, headlineRows } from '../../scripts/bench/headline.ts';
import { loadWindow, type LoadStats } from '../../scripts/bench/LoadViewers.ts';

describe('benchmark statistics', () => {
  it('takes nearest-rank percentiles and medians', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(values, 50)).to.equal(5);
    expect(percentile(values, 95)).to.equal(10);
    expect(percentile(values, 10)).to.equal(1);
    expect(median([3, 1, 2])).to.equal(2);
    expect(median([4, 1, 2, 3])).to.equal(2.5);
    expect(Number.isNaN(percentile([], 50))).to.equal(true);
  });

  it('reports a median with its spread and how many trials back it, ignoring failed trials', () => {
    expect(spread([120, 110, 131.44, NaN])).to.deep.equal({ median: 120, min: 110, max: 131.4, n: 3 });
    expect(spread([])).to.deep.equal({ median: null, min: null, max: null, n: 0 });
    expect(formatSpread(spread([120, 110, 131]), ' ms')).to.equal('120 ms (110-131, n=3)');
    expect(fmtSpread(spread([1250, 1310, 1280]), { scale: 1000, digits: 2 })).to.equal('1.28 (1.25-1.31, n=3)');
    expect(fmtSpread({ median: null, min: null, max: null, n: 0 })).to.equal(undefined);
  });

  it('builds the README table rows from a benchmark JSON, leaving systems that did not run empty', () => {
    const rows = headlineRows('ttff', {
      ttffMs: {
        c5: { gop1s: { warm: spread([1300, 1200]), cold: spread([3800]) } },
        janus: { gop1s: { warm: spread([500, 450, 550]), cold: spread([]) } },
      },
    });
    const warm = rows.find((r) => r.measure === 'first frame, GOP 1 s, warm (s)')!;
    expect(warm.c5).to.equal('1.25 (1.20-1.30, n=2)');
    expect(warm.janus).to.equal('0.50 (0.45-0.55, n=3)');
    expect(warm.rtspRelay).to.equal(undefined);
    const cold = rows.find((r) => r.measure === 'first frame, GOP 1 s, cold (s)')!;
    expect(cold.c5).to.equal('3.80 (n=1)');
    expect(cold.janus).to.equal(undefined);
    expect(headlineRows('unknown', {})).to.deep.equal([]);
  });

  it('computes load viewers loss and bit rate over a window from two readings', () => {
    const viewer = (index: number, packetsReceived: number, packetsLost: number, bytesReceived: number, state = 'connected') =>
      ({ index, state, packetsReceived, packetsLost, bytesReceived, framesDecoded: 0, nackCount: 0, pliCount: 0 }) as unknown as LoadStats['viewers'][number];
    const before = { system: 'c5', at: 1000, viewers: [viewer(0, 100, 0, 10_000), viewer(1, 100, 0, 10_000)], total: {} } as unknown as LoadStats;
    const after = { system: 'c5', at: 3000, viewers: [viewer(0, 298, 2, 260_000), viewer(1, 100, 0, 10_000, 'failed')], total: {} } as unknown as LoadStats;
    const w = loadWindow(before, after);
    expect(w.seconds).to.equal(2);
    expect(w.packetsReceived).to.equal(198);
    expect(w.packetsLost).to.equal(2);
    expect(w.lossPct).to.equal(1);
    expect(w.maxViewerLossPct).to.equal(1);
    expect(w.silent).to.equal(1);
    expect(w.failed).to.equal(1);
    expect(w.kbpsTotal).to.equal(1000);
  });
});
