/**
 * The console's pure logic for incidents (issue #21): time left on a grant, the end times it asks
 * for, where "Fill the wall" puts the cameras, and the checks of the "open an incident" form.
 */
import { expect } from 'chai';
import { readCameraCodes, readIncidentInput, type IncidentFields } from '../../client/src/incidentInput.ts';
import { endsAtIn, extendedEnd, formatTimeLeft, msLeft, urgency, WARNING_MS } from '../../client/src/timeLeft.ts';
import { fitLayout, planTiles } from '../../client/src/wallPlan.ts';

const LAYOUTS = [1, 4, 9, 16] as const;

describe('console: time left on a grant', () => {
  const now = Date.parse('2026-11-30T17:00:00.000Z');

  it('counts down to the end, never below zero, and reads a bad date as ended', () => {
    expect(msLeft('2026-11-30T17:10:00.000Z', now)).to.equal(600_000);
    expect(msLeft('2026-11-30T16:59:00.000Z', now)).to.equal(0);
    expect(msLeft('not a date', now)).to.equal(0);
  });

  it('formats hours and minutes, minutes and seconds, seconds, rounding up', () => {
    expect(formatTimeLeft(7_500_000)).to.equal('2 h 05 min');
    expect(formatTimeLeft(3_600_000)).to.equal('1 h 00 min');
    expect(formatTimeLeft(570_000)).to.equal('9 min 30 s');
    expect(formatTimeLeft(45_000)).to.equal('45 s');
    expect(formatTimeLeft(1)).to.equal('1 s');
    expect(formatTimeLeft(0)).to.equal('ended');
    expect(formatTimeLeft(-5)).to.equal('ended');
  });

  it('warns at 10 minutes or less, and says ended at zero', () => {
    expect(urgency(WARNING_MS + 1)).to.equal('ok');
    expect(urgency(WARNING_MS)).to.equal('warning');
    expect(urgency(1)).to.equal('warning');
    expect(urgency(0)).to.equal('ended');
  });

  it('extends from the current end, or from now when it has passed', () => {
    expect(extendedEnd('2026-11-30T18:00:00.000Z', now, 3_600_000)).to.equal('2026-11-30T19:00:00.000Z');
    expect(extendedEnd('2026-11-30T16:00:00.000Z', now, 3_600_000)).to.equal('2026-11-30T18:00:00.000Z');
    expect(extendedEnd('garbage', now, 3_600_000)).to.equal('2026-11-30T18:00:00.000Z');
    expect(endsAtIn(now, 4 * 3_600_000)).to.equal('2026-11-30T21:00:00.000Z');
  });
});

describe('console: filling the wall with cameras', () => {
  it('keeps the layout when the cameras fit, else takes the smallest that holds them (at most the largest)', () => {
    expect(fitLayout(3, 4, LAYOUTS)).to.equal(4);
    expect(fitLayout(5, 4, LAYOUTS)).to.equal(9);
    expect(fitLayout(2, 1, LAYOUTS)).to.equal(4);
    expect(fitLayout(10, 9, LAYOUTS)).to.equal(16);
    expect(fitLayout(40, 4, LAYOUTS)).to.equal(16);
    expect(fitLayout(0, 9, LAYOUTS)).to.equal(9);
  });

  it('leaves wanted cameras where they are, fills empty tiles first, then tiles showing other cameras', () => {
    expect(planTiles(['x', undefined, 'b', 'y'], ['a', 'b'])).to.deep.equal(['x', 'a', 'b', 'y']);
    expect(planTiles(['x', undefined, 'b', 'y'], ['a', 'b', 'c'])).to.deep.equal(['c', 'a', 'b', 'y']);
    expect(planTiles([undefined, undefined], ['a', 'a', 'b', 'c'])).to.deep.equal(['a', 'b']);
  });

  it('clears the tiles of other cameras when asked (an investigator sees only their grants)', () => {
    expect(planTiles(['x', undefined, 'b', 'y'], ['a', 'b'], { clearOthers: true })).to.deep.equal([undefined, 'a', 'b', undefined]);
    expect(planTiles(['x', 'y'], [], { clearOthers: true })).to.deep.equal([undefined, undefined]);
  });
});

describe('console: the "open an incident" form', () => {
  const valid: IncidentFields = { title: ' Robbery at the bank ', kind: 'robbery', lat: '19.4326', lng: '-99.1332', radiusM: '', municipality: ' Centro ', autoAttach: true };

  it('reads a valid form (trimmed, numbers parsed, no radius when left empty)', () => {
    expect(readIncidentInput(valid)).to.deep.equal({
      ok: true,
      value: { title: 'Robbery at the bank', kind: 'robbery', location: { lat: 19.4326, lng: -99.1332 }, municipality: 'Centro', autoAttach: true },
    });
    const withRadius = readIncidentInput({ ...valid, radiusM: '250', autoAttach: false });
    expect(withRadius.ok && withRadius.value.radiusM).to.equal(250);
    expect(withRadius.ok && withRadius.value.autoAttach).to.equal(false);
  });

  it('takes "lat, lng" pasted into the latitude field', () => {
    const read = readIncidentInput({ ...valid, lat: '19.4326, -99.1332', lng: '' });
    expect(read.ok && read.value.location).to.deep.equal({ lat: 19.4326, lng: -99.1332 });
  });

  it('names the field that is wrong', () => {
    const field = (fields: Partial<IncidentFields>) => {
      const read = readIncidentInput({ ...valid, ...fields });
      return read.ok ? undefined : read.field;
    };
    expect(field({ title: '   ' })).to.equal('title');
    expect(field({ title: 'x'.repeat(201) })).to.equal('title');
    expect(field({ kind: '' })).to.equal('kind');
    expect(field({ kind: 'burglary' })).to.equal('kind');
    expect(field({ lat: '' })).to.equal('lat');
    expect(field({ lat: '91' })).to.equal('lat');
    expect(field({ lat: '1e3' })).to.equal('lat');
    expect(field({ lng: '-180.5' })).to.equal('lng');
    expect(field({ lng: 'west' })).to.equal('lng');
    expect(field({ radiusM: '5' })).to.equal('radiusM');
    expect(field({ radiusM: '12.5' })).to.equal('radiusM');
    expect(field({ radiusM: '50001' })).to.equal('radiusM');
    expect(field({ municipality: '' })).to.equal('municipality');
  });

  it('reads camera codes typed with commas or spaces, each once', () => {
    expect(readCameraCodes(' cam-1, cam-2  cam-1;cam-3 ')).to.deep.equal(['cam-1', 'cam-2', 'cam-3']);
    expect(readCameraCodes('  ')).to.deep.equal([]);
  });
});
