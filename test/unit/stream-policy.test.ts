import { expect } from 'chai';
import { covers, lighterThan, streamForTile, withinCap, type StreamOffer } from '../../server/live/StreamPolicy.ts';
import { SessionBandwidthMeter } from '../../server/signalling/SessionBandwidthMeter.ts';

const hd = { width: 1920, height: 1080 };
const sd = { width: 640, height: 360 };
const low = { width: 480, height: 270 };
const offer = (extra: Partial<StreamOffer> = {}): StreamOffer => ({ hasSub: true, main: hd, sub: sd, lowAvailable: true, lowSize: low, ...extra });

describe('StreamPolicy: the stream a tile gets (#24)', () => {
  describe('covers: the stream letterboxed in the tile is not scaled up by more than 10%', () => {
    const rows: Array<[string, { width: number; height: number }, { width: number; height: number }, boolean]> = [
      ['same size', sd, { width: 640, height: 360 }, true],
      ['smaller tile', sd, { width: 320, height: 180 }, true],
      ['10% larger tile', sd, { width: 704, height: 396 }, true],
      ['11% larger tile', sd, { width: 711, height: 400 }, false],
      // A tall 4:3 tile: the 16:9 picture is as wide as the tile, its height is letterboxed.
      ['tall tile, width fits', sd, { width: 640, height: 480 }, true],
      ['wide tile, height decides', sd, { width: 1200, height: 360 }, true],
      ['wide tile over height', sd, { width: 1200, height: 420 }, false],
    ];
    for (const [name, stream, tile, expected] of rows) {
      it(`${name}: ${stream.width}x${stream.height} in ${tile.width}x${tile.height} -> ${expected}`, () => {
        expect(covers(stream, tile)).to.equal(expected);
      });
    }
  });

  describe('streamForTile', () => {
    it('no size: the main stream (default); full screen: the main stream whatever the size', () => {
      expect(streamForTile(undefined, offer())).to.deep.equal({ name: 'main', reason: 'default' });
      expect(streamForTile({ width: 100, height: 100, fullscreen: true }, offer())).to.deep.equal({ name: 'main', reason: 'fullscreen' });
    });

    it('the substream when it covers the tile, else the main stream', () => {
      expect(streamForTile({ width: 480, height: 270 }, offer())).to.deep.equal({ name: 'sub', reason: 'tile_size' });
      expect(streamForTile({ width: 960, height: 540 }, offer())).to.deep.equal({ name: 'main', reason: 'tile_size' });
    });

    it('no substream: the main stream for every size', () => {
      expect(streamForTile({ width: 200, height: 100 }, offer({ hasSub: false })).name).to.equal('main');
    });

    it('an unknown substream is assumed 640x360; an unknown main stream is assumed large', () => {
      const unknown = offer({ main: undefined, sub: undefined });
      expect(streamForTile({ width: 640, height: 360 }, unknown).name).to.equal('sub');
      expect(streamForTile({ width: 800, height: 450 }, unknown).name).to.equal('main');
    });

    it('a "substream" no smaller than the main stream is never preferred', () => {
      expect(streamForTile({ width: 320, height: 180 }, offer({ main: sd, sub: sd })).name).to.equal('main');
    });
  });

  describe('lighterThan and withinCap: substream first, then the low tier, then a refusal', () => {
    const estimates = { main: 4000, sub: 800, low: 500 };
    const cap = (capKbps: number | null, usedKbps: number) => ({ capKbps, usedKbps, estimateKbps: (name: 'main' | 'sub' | 'low') => estimates[name] });

    it('the lighter streams of each', () => {
      expect(lighterThan('main', offer())).to.deep.equal(['sub']);
      expect(lighterThan('main', offer({ hasSub: false }))).to.deep.equal(['low']);
      expect(lighterThan('main', offer({ hasSub: false, lowAvailable: false }))).to.deep.equal([]);
      expect(lighterThan('sub', offer())).to.deep.equal([]);
      expect(lighterThan('low', offer())).to.deep.equal([]);
    });

    it('no cap, or room under it: the wanted stream', () => {
      expect(withinCap({ name: 'main', reason: 'tile_size' }, offer(), cap(null, 1e9))).to.deep.equal({ name: 'main', reason: 'tile_size' });
      expect(withinCap({ name: 'main', reason: 'tile_size' }, offer(), cap(5000, 1000))).to.deep.equal({ name: 'main', reason: 'tile_size' });
    });

    it('over the cap: the substream, or without one the low tier, with reason bandwidth_cap', () => {
      expect(withinCap({ name: 'main', reason: 'fullscreen' }, offer(), cap(3000, 1000))).to.deep.equal({ name: 'sub', reason: 'bandwidth_cap' });
      expect(withinCap({ name: 'main', reason: 'tile_size' }, offer({ hasSub: false }), cap(3000, 2000))).to.deep.equal({ name: 'low', reason: 'bandwidth_cap' });
    });

    it('nothing fits: a refusal saying the total, the cap, what is in use and what was tried', () => {
      const refused = withinCap({ name: 'main', reason: 'tile_size' }, offer({ hasSub: false, lowAvailable: false }), cap(3000, 2500));
      expect(refused).to.deep.include({ refused: true, wouldBeKbps: 6500 });
      expect((refused as { message: string }).message).to.equal(
        'this tile would take the session to 6500 kbit/s, over its cap of 3000 kbit/s (2500 kbit/s already in use; tried the main stream) (no low-tier transcode is free on this server)',
      );
      const bySub = withinCap({ name: 'main', reason: 'tile_size' }, offer(), cap(3000, 2800));
      expect(bySub).to.deep.include({ refused: true, wouldBeKbps: 3600 });
      expect((bySub as { message: string }).message).to.match(/tried the main, then sub streams/);
    });
  });
});

describe('SessionBandwidthMeter: a session measured on its consumers\' bytes (#24)', () => {
  it('counts a consumer at its estimate until two samples measure it, then at bytes over time; stops with its last consumer', async () => {
    const bytes = new Map<string, number>([['c1', 0]]);
    const samples: Array<{ totalKbps: number; consumers: Array<{ kbps: number }> }> = [];
    const meter = new SessionBandwidthMeter({ sampleMs: 100, capKbps: () => 3000, readBytes: async (id) => bytes.get(id) ?? 0, onSample: (s) => samples.push(s) });
    meter.add('c1', { cameraId: 'A', stream: 'sub', estimateKbps: 900 });
    expect(meter.usedKbps()).to.equal(900);
    // 1 Mbit/s: 12,500 bytes per 100 ms.
    const feeder = setInterval(() => bytes.set('c1', bytes.get('c1')! + 1250), 10);
    try {
      await new Promise((resolve) => setTimeout(resolve, 450));
    } finally {
      clearInterval(feeder);
    }
    expect(samples.length).to.be.within(3, 5);
    expect(samples[0]!.totalKbps, 'the first sample has no interval yet: the estimate').to.equal(900);
    const measured = samples.at(-1)!.totalKbps;
    expect(measured).to.be.within(700, 1300);
    expect(meter.usedKbps('c1')).to.equal(0);
    meter.remove('c1');
    const count = samples.length;
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(samples.length, 'no sampling without consumers').to.equal(count);
    meter.close();
  });
});
