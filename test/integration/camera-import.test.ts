import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';

const header = 'code,name,area,owner_kind,owner_name,owner_contact,agreement_ref,enrolled_by,category,municipality,lat,lng,main_url,substream_url,username,password,transport,sharing,always_on,tags';
const municipalities = ['Cuauhtémoc', 'Coyoacán', 'Tlalpan', 'Iztapalapa', 'Gustavo A. Madero'];

/** 5,000 rows; every 100th row (50 of them) is bad in one of several ways. Line = index + 2 (after the header). */
function buildCsv(): { csv: string; badLines: number[] } {
  const lines = [header];
  const badLines: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const code = `IMP-${String(i).padStart(5, '0')}`;
    const citizen = i % 7 === 0;
    const cells = [
      code,
      `"Cámara ${i}, calle ""Reforma"" ${i}"`,
      citizen ? 'citizen' : 'agency',
      citizen ? 'person' : 'organisation',
      citizen ? `Vecino ${i}` : 'SSC',
      '"c5@example.org"',
      citizen ? `AG-${i}` : '',
      citizen ? 'operator-3' : '',
      citizen ? 'home' : 'street',
      municipalities[i % municipalities.length]!,
      (19.3 + (i % 100) / 1000).toFixed(4),
      (-99.1 - (i % 50) / 1000).toFixed(4),
      `rtsp://10.${Math.floor(i / 250)}.${i % 250}.1:554/stream1`,
      '',
      i % 3 === 0 ? 'viewer' : '',
      i % 3 === 0 ? `pw-${i}` : '',
      'tcp',
      citizen ? 'live' : '',
      i % 11 === 0 ? 'true' : 'false',
      'imported;2026',
    ];
    if (i % 100 === 50) {
      badLines.push(i + 2);
      switch ((i / 100) % 6 | 0) {
        case 0: cells[0] = 'bad code!'; break;
        case 1: cells[2] = 'police'; break;
        case 2: cells[12] = `rtsp://10.0.0.1/x;reboot`; break;
        case 3: cells[1] = ''; break;
        case 4: cells[10] = '95'; break;
        default: cells[0] = 'IMP-00001'; break; // a duplicate of an earlier row in the same file
      }
    }
    lines.push(cells.join(','));
  }
  return { csv: `\uFEFF${lines.join('\r\n')}\r\n`, badLines };
}

describe('bulk camera import', function () {
  this.timeout(180_000);
  let t: TestApp;
  let adminToken: string;
  const admin = () => `Bearer ${adminToken}`;
  const post = async (path: string, body: string, type: string) => {
    const res = await fetch(`${t.app.consoleUrl}${path}`, { method: 'POST', headers: { authorization: admin(), 'content-type': type }, body });
    return { status: res.status, json: (await res.json()) as any };
  };

  before(async () => {
    t = await startTestApp({});
    adminToken = await t.token('admin');
  });
  after(async () => t?.close());

  it('stores 4,950 of 5,000 CSV rows (BOM, CRLF, quoted fields) and reports the 50 bad ones with their line', async () => {
    const { csv, badLines } = buildCsv();
    const started = Date.now();
    const { status, json } = await post('/api/cameras/import?approve=true', csv, 'text/csv');
    const took = Date.now() - started;
    console.log(`      imported 5,000 rows (embedded store) in ${took} ms`);
    expect(status).to.equal(200);
    expect(json.rows).to.equal(5000);
    expect(json.created).to.equal(4950);
    expect(json.errors).to.have.length(50);
    expect(json.errors.map((e: { line: number }) => e.line)).to.deep.equal(badLines);
    const reasons = json.errors.map((e: { reason: string }) => e.reason).join('\n');
    for (const expected of [/code/, /area/, /mainUrl/, /name/, /lat/, /appears twice in this file \(first on line 3\)/]) expect(reasons).to.match(expected);
    const total = await t.app.catalog.repository.count({});
    expect(total).to.equal(4950);
    const sample = await t.app.catalog.repository.findByCode('IMP-00007');
    expect(sample?.name).to.equal('Cámara 7, calle "Reforma" 7');
    expect(sample?.area).to.equal('citizen');
    expect(sample?.status).to.equal('approved');
    expect(sample?.tags).to.deep.equal(['imported', '2026']);
    expect(sample?.mainUrl.masked).to.equal('rtsp://10.0.7.1:554/stream1');
    expect((await t.app.catalog.repository.findByCode('IMP-00003'))?.mainUrl.masked).to.equal('rtsp://***@10.0.3.1:554/stream1');
  });

  it('re-importing the same file creates nothing new', async () => {
    const { csv } = buildCsv();
    const started = Date.now();
    const { json } = await post('/api/cameras/import?approve=true', csv, 'text/csv');
    console.log(`      re-import of 5,000 rows in ${Date.now() - started} ms`);
    expect(json.created).to.equal(0);
    expect(json.unchanged).to.equal(4950);
    expect(json.errors).to.have.length(50);
    expect(await t.app.catalog.repository.count({ includeRetired: true })).to.equal(4950);
  });

  it('refuses a changed row unless asked to update, and imports JSON too', async () => {
    const changed = [
      { code: 'IMP-00001', name: 'Renamed by import', area: 'agency', owner: { kind: 'organisation', name: 'SSC', contact: 'c5@example.org' }, category: 'street', municipality: 'Coyoacán', location: { lat: 19.301, lng: -99.101 }, mainUrl: 'rtsp://10.0.1.1:554/stream1', alwaysOn: false, tags: ['imported', '2026'] },
      { code: 'JSON-1', name: 'From JSON', area: 'agency', owner: { kind: 'organisation', name: 'SSC' }, category: 'bank', municipality: 'Tlalpan', mainUrl: 'rtsp://10.9.0.1/x' },
      { code: 'JSON-2', name: 'Bad', area: 'agency' },
    ];
    const refused = await post('/api/cameras/import', JSON.stringify(changed), 'application/json');
    expect(refused.json.created).to.equal(1);
    expect(refused.json.errors.map((e: { line: number; code: string }) => [e.line, e.code])).to.deep.equal([[1, 'IMP-00001'], [3, 'JSON-2']]);
    expect(refused.json.errors[0].reason).to.match(/update=true/);
    const updated = await post('/api/cameras/import?update=true', JSON.stringify({ cameras: changed }), 'application/json');
    expect(updated.json.updated).to.equal(1);
    expect(updated.json.unchanged).to.equal(1);
    expect((await t.app.catalog.repository.findByCode('IMP-00001'))?.name).to.equal('Renamed by import');
    expect((await t.app.catalog.repository.findByCode('JSON-1'))?.status).to.equal('pending');
  });

  it('takes the ingest engine from the CSV column `engine` and from JSON; auto when empty or absent', async () => {
    const engineHeader = 'code,name,area,owner_kind,owner_name,category,municipality,main_url,engine';
    const row = (code: string, engine: string) => `${code},Engine ${code},agency,organisation,SSC,street,Tlalpan,rtsp://10.77.0.1:554/${code},${engine}`;
    const csv = [engineHeader, row('ENG-CSV-1', 'relay'), row('ENG-CSV-2', 'ffmpeg'), row('ENG-CSV-3', ''), row('ENG-CSV-4', 'auto'), row('ENG-CSV-5', 'gstreamer')].join('\n');
    const first = await post('/api/cameras/import', csv, 'text/csv');
    expect(first.status).to.equal(200);
    expect(first.json.created).to.equal(4);
    expect(first.json.errors).to.have.length(1);
    expect(first.json.errors[0]).to.include({ line: 6, code: 'ENG-CSV-5' });
    expect(first.json.errors[0].reason).to.match(/^engine: /);
    const engineOf = async (code: string) => t.app.catalog.view((await t.app.catalog.repository.findByCode(code))!).engine;
    expect(await Promise.all(['ENG-CSV-1', 'ENG-CSV-2', 'ENG-CSV-3', 'ENG-CSV-4'].map(engineOf))).to.deep.equal(['relay', 'ffmpeg', 'auto', 'auto']);

    // Idempotent: the same file again changes nothing; an empty cell and 'auto' are the same record.
    const csvAgain = csv.replace(row('ENG-CSV-3', ''), row('ENG-CSV-3', 'auto')).replace(row('ENG-CSV-4', 'auto'), row('ENG-CSV-4', ''));
    const again = await post('/api/cameras/import', csvAgain, 'text/csv');
    expect(again.json).to.include({ created: 0, unchanged: 4 });

    // A different engine is a changed record: refused without update=true, applied with it.
    const changed = await post('/api/cameras/import', csv.replace(row('ENG-CSV-1', 'relay'), row('ENG-CSV-1', 'ffmpeg')), 'text/csv');
    expect(changed.json.errors.map((e: { code: string }) => e.code)).to.deep.equal(['ENG-CSV-1', 'ENG-CSV-5']);
    const item = (code: string, engine?: string) => ({ code, name: `Engine ${code}`, area: 'agency', owner: { kind: 'organisation', name: 'SSC' }, category: 'street', municipality: 'Tlalpan', mainUrl: `rtsp://10.77.0.1:554/${code}`, ...(engine && { engine }) });
    const json = await post('/api/cameras/import?update=true', JSON.stringify([item('ENG-CSV-1'), item('ENG-CSV-2', 'relay'), item('ENG-JSON-1', 'ffmpeg'), item('ENG-JSON-2', 'hardware')]), 'application/json');
    expect(json.json).to.include({ created: 1, updated: 2 });
    expect(json.json.errors.map((e: { line: number; reason: string }) => [e.line, e.reason.split(':')[0]])).to.deep.equal([[4, 'engine']]);
    expect(await Promise.all(['ENG-CSV-1', 'ENG-CSV-2', 'ENG-JSON-1'].map(engineOf)), 'an item without engine sets it back to auto').to.deep.equal(['auto', 'relay', 'ffmpeg']);
  });

  it('rejects unreadable input as a whole with a clear error', async () => {
    expect((await post('/api/cameras/import', 'code,colour\nA,red\n', 'text/csv')).json.error.message).to.match(/unknown CSV columns: colour/);
    expect((await post('/api/cameras/import', `${header}\n"unclosed,quote\n`, 'text/csv')).status).to.equal(400);
    expect((await post('/api/cameras/import', '{"rows": 1}', 'application/json')).status).to.equal(400);
    expect((await post('/api/cameras/import?update=maybe', '[]', 'application/json')).status).to.equal(400);
  });
});
