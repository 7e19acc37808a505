import { expect } from 'chai';
import { startTestApp, type TestApp } from '../support/pipelineApp.ts';
import type { Role } from '../../server/auth/Identity.ts';
import type { CameraArea } from '../../server/catalog/CameraRecord.ts';
import type { CameraCreate } from '../../server/catalog/cameraSchemas.ts';

/**
 * Incidents over REST (issue 21): opening (the nearest approved cameras within the radius attach),
 * listing, attaching and detaching, grants, closing, the report against the audit chain, and
 * break-glass; then every refusal of item 5 with its stable code, the OpenAPI document listing it
 * for that operation, and nothing changed (the records read back the same, no audit entry).
 * No camera is watched here: no ingest workers, no prober.
 */

/** Mexico City's Zócalo, and points north of it at known distances. */
const ZOCALO = { lat: 19.4326, lng: -99.1332 };
const north = (metres: number) => ({ lat: ZOCALO.lat + metres / 1000 / 111.32, lng: ZOCALO.lng });
const ELSEWHERE = { lat: 20.6597, lng: -103.3496 };

const AUTO_ATTACH_MAX = 3;
const GRANT_MAX_MINUTES = 120;
const MINUTE = 60_000;

/**
 * The cameras, created out of distance order so "nearest first" is the server's doing. Within the
 * default 500 m radius: N1 100 m, N2 200 m (citizen, incident-only), N3 300 m, N4 400 m (beyond
 * autoAttachMax), and the ones that must never attach: pending, retired, revoked. FAR is 2 km off.
 */
const CAMERAS: Array<{ code: string; metres?: number; area?: CameraArea; municipality?: string; sharing?: 'live' | 'incident-only'; status?: 'pending'; then?: 'retire' | 'revoke'; at?: { lat: number; lng: number } }> = [
  { code: 'N3', metres: 300 },
  { code: 'FAR', metres: 2000 },
  { code: 'N1', metres: 100 },
  { code: 'PEND', metres: 50, status: 'pending' },
  { code: 'N4', metres: 400 },
  { code: 'RET', metres: 60, then: 'retire' },
  { code: 'N2', metres: 200, area: 'citizen', sharing: 'incident-only' },
  { code: 'REV', metres: 70, then: 'revoke' },
  { code: 'NOLOC' },
  { code: 'LIVE-C', metres: 800, area: 'citizen', sharing: 'live' },
  { code: 'S1', area: 'citizen', municipality: 'Sur', sharing: 'incident-only', at: ELSEWHERE },
];

type Json = any;

describe('incidents over REST (issue 21)', function () {
  this.timeout(120_000);
  let t: TestApp;
  let doc: { paths: Record<string, Record<string, any>> };
  const tokens = {} as Record<'admin' | 'operator' | 'operatorSur' | 'supervisor' | 'investigator' | 'investigator2', string>;
  const ids = {} as Record<'operator' | 'operatorSur' | 'investigator' | 'investigator2' | 'disabledInvestigator', string>;

  const api = async (token: string | undefined, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${t.app.consoleUrl}${path}`, {
      method,
      headers: { ...(token && { authorization: `Bearer ${token}` }), 'content-type': 'application/json' },
      ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    return { status: res.status, headers: res.headers, json: (await res.json()) as Json };
  };
  /** A request that must succeed with `status`; its JSON answer. */
  const okAs = async (token: string, method: string, path: string, body?: unknown, status = 200): Promise<Json> => {
    const res = await api(token, method, path, body);
    expect(res.status, `${method} ${path}: ${JSON.stringify(res.json)}`).to.equal(status);
    return res.json;
  };
  const auditTotal = async (): Promise<number> => (await okAs(tokens.admin, 'GET', '/api/audit?limit=1')).total;
  const incident = (id: string) => okAs(tokens.admin, 'GET', `/api/incidents/${id}`);
  const grantsOf = async (id: string): Promise<Json[]> => (await okAs(tokens.admin, 'GET', `/api/incidents/${id}/grants`)).items;
  /** Opens an incident at the Zócalo in Norte (as the Norte operator unless told). */
  const open = (extra: Record<string, unknown> = {}, token = tokens.operator): Promise<Json> =>
    okAs(token, 'POST', '/api/incidents', { title: 'Robbery at the market', kind: 'robbery', location: ZOCALO, municipality: 'Norte', ...extra }, 201);
  const grant = (incidentId: string, body: Record<string, unknown> = {}): Promise<Json> =>
    okAs(tokens.operator, 'POST', `/api/incidents/${incidentId}/grants`, { investigator: ids.investigator, scope: 'all', ...body }, 201);
  const inMinutes = (minutes: number) => new Date(Date.now() + minutes * MINUTE).toISOString();

  /**
   * A refused request: the status and stable code, the OpenAPI document lists that code under that
   * status for the operation, and no audit entry was written. `op` is "METHOD /api/path/{param}".
   */
  const refused = async (op: string, params: Record<string, string>, token: string | undefined, body: unknown, status: number, code: string) => {
    const [method, template] = op.split(' ') as [string, string];
    const path = template.replace(/\{(\w+)\}/g, (_m, name: string) => params[name]!);
    const before = await auditTotal();
    const res = await api(token, method, path, body);
    expect(res.status, `${op} ${path}: ${JSON.stringify(res.json)}`).to.equal(status);
    expect(res.json.error?.code, `${op}: error code`).to.equal(code);
    expect(res.json.error?.message, `${op}: a message`).to.be.a('string').that.is.not.empty;
    const documented = doc.paths[template]?.[method.toLowerCase()]?.responses?.[String(status)];
    expect(documented, `${op}: the OpenAPI document lists ${status}`).to.not.equal(undefined);
    expect(documented.content['application/json'].schema.properties.error.properties.code.enum, `${op}: ${status} lists ${code}`).to.include(code);
    expect(await auditTotal(), `${op}: no audit entry`).to.equal(before);
    return res.json.error as { code: string; message: string };
  };

  before(async () => {
    t = await startTestApp({
      ingest: { workers: 0 },
      health: { enabled: false },
      media: { workers: 1 },
      incidents: { autoAttachMax: AUTO_ATTACH_MAX, defaultRadiusM: 500, grantDefaultMinutes: 60, grantMaxMinutes: GRANT_MAX_MINUTES, breakGlassMinutes: 5 },
    });
    const token = async (role: Role, municipalities: string[] = []) => {
      const id = await t.user(role, { areas: ['agency', 'citizen'], municipalities });
      return { id, token: t.app.tokens.issue({ userId: id, role, authTime: Math.floor(Date.now() / 1000) }).token };
    };
    tokens.admin = (await token('admin')).token;
    ({ id: ids.operator, token: tokens.operator } = await token('operator', ['Norte']));
    ({ id: ids.operatorSur, token: tokens.operatorSur } = await token('operator', ['Sur']));
    tokens.supervisor = (await token('supervisor')).token;
    ({ id: ids.investigator, token: tokens.investigator } = await token('investigator'));
    ({ id: ids.investigator2, token: tokens.investigator2 } = await token('investigator'));
    ids.disabledInvestigator = (await token('investigator')).id;
    await t.app.users.updateUser(ids.disabledInvestigator, { disabled: true });
    for (const c of CAMERAS) {
      const area = c.area ?? 'agency';
      const input: CameraCreate = {
        code: c.code,
        name: `Camera ${c.code}`,
        area,
        owner: { kind: 'organisation', name: 'Owner', ...(area === 'citizen' && { agreementRef: 'AG-1', enrolledBy: 'op' }) },
        category: 'street',
        municipality: c.municipality ?? 'Norte',
        ...(c.metres !== undefined && { location: north(c.metres) }),
        ...(c.at && { location: c.at }),
        mainUrl: `rtsp://127.0.0.1:9/${c.code}`,
        transport: 'tcp',
        ...(c.sharing && { sharing: c.sharing }),
        alwaysOn: false,
        tags: [],
      };
      const created = await t.app.catalog.create(input, { status: c.status ?? 'approved' });
      if (c.then === 'retire') await t.app.catalog.retire(created.id);
      if (c.then === 'revoke') await t.app.catalog.changeStatus(created.id, 'revoke', 'agreement ended');
    }
    doc = (await (await fetch(`${t.app.consoleUrl}/api/openapi.json`)).json()) as typeof doc;
  });
  after(async () => {
    await t?.close();
  });

  describe('the happy paths', () => {
    it('opens an incident with the approved cameras within the radius attached, nearest first, at most incidents.autoAttachMax', async () => {
      const res = await api(tokens.operator, 'POST', '/api/incidents', { title: 'Robbery at the market', kind: 'robbery', location: ZOCALO, municipality: 'Norte' });
      expect(res.status).to.equal(201);
      const opened = res.json;
      expect(res.headers.get('location')).to.equal(`/api/incidents/${opened.id}`);
      expect(opened).to.include({ title: 'Robbery at the market', kind: 'robbery', municipality: 'Norte', status: 'open', radiusM: 500 });
      expect(opened.openedBy).to.deep.include({ userId: ids.operator });
      // N1 100 m, N2 200 m, N3 300 m; N4 (400 m) is beyond the maximum; pending, retired, revoked and FAR never.
      expect(opened.cameras.map((c: Json) => c.code)).to.deep.equal(['N1', 'N2', 'N3']);
      expect(opened.cameras.map((c: Json) => c.distanceM)).to.deep.equal([100, 200, 300]);
      expect(opened.cameras[1]).to.include({ name: 'Camera N2', area: 'citizen', municipality: 'Norte' });
      const [entry] = (await okAs(tokens.admin, 'GET', `/api/audit?incident=${opened.id}`)).items;
      expect(entry).to.include({ action: 'incident.open', incidentId: opened.id, userId: ids.operator });
      expect(entry.details.cameras).to.deep.equal([
        { code: 'N1', distanceM: 100 },
        { code: 'N2', distanceM: 200 },
        { code: 'N3', distanceM: 300 },
      ]);
      // A smaller radius, and no automatic attachment at all.
      expect((await open({ radiusM: 150 })).cameras.map((c: Json) => c.code)).to.deep.equal(['N1']);
      expect((await open({ autoAttach: false })).cameras).to.deep.equal([]);
      // Nothing approved in the radius.
      expect((await open({ location: north(-5000) })).cameras).to.deep.equal([]);
    });

    it('lists incidents newest first with status and municipality filters and paging; an operator sees only those of their municipalities', async () => {
      const a = await open({ title: 'List A' });
      // (autoAttach off: S1 stays outside any open incident, for the break-glass test.)
      const b = await open({ title: 'List B', municipality: 'Sur', location: ELSEWHERE, autoAttach: false }, tokens.operatorSur);
      const c = await open({ title: 'List C' });
      await okAs(tokens.operator, 'POST', `/api/incidents/${c.id}/close`, { disposition: 'false_alarm', note: 'nothing there' });

      const all = await okAs(tokens.admin, 'GET', '/api/incidents?limit=200');
      const positions = [c.id, b.id, a.id].map((id) => all.items.findIndex((i: Json) => i.id === id));
      expect(positions.every((p) => p >= 0), 'all three listed').to.equal(true);
      expect([...positions].sort((x, y) => x - y), 'newest opened first').to.deep.equal(positions);
      expect(all.total).to.equal(all.items.length);
      expect(all).to.include({ offset: 0, limit: 200 });

      const closed = await okAs(tokens.admin, 'GET', '/api/incidents?status=closed&limit=200');
      expect(closed.items.every((i: Json) => i.status === 'closed')).to.equal(true);
      expect(closed.items.map((i: Json) => i.id)).to.include(c.id).and.not.include(a.id);
      const openOnes = await okAs(tokens.admin, 'GET', '/api/incidents?status=open&limit=200');
      expect(openOnes.items.map((i: Json) => i.id)).to.include(a.id).and.not.include(c.id);
      expect(openOnes.total + closed.total).to.equal(all.total);

      const sur = await okAs(tokens.admin, 'GET', '/api/incidents?municipality=Sur');
      expect(sur.items.map((i: Json) => i.id)).to.deep.equal([b.id]);
      expect(sur.total).to.equal(1);

      const norte = await okAs(tokens.operator, 'GET', '/api/incidents?limit=200');
      expect(norte.items.every((i: Json) => i.municipality === 'Norte'), 'the Norte operator sees only Norte').to.equal(true);
      expect(norte.items.map((i: Json) => i.id)).to.include.members([a.id, c.id]).and.not.include(b.id);
      expect(norte.total).to.equal(all.total - 1);
      // Asking for another municipality gives nothing more.
      expect(await okAs(tokens.operator, 'GET', '/api/incidents?municipality=Sur')).to.deep.include({ items: [], total: 0 });

      const second = await okAs(tokens.admin, 'GET', '/api/incidents?limit=1&offset=1');
      expect(second.items.map((i: Json) => i.id)).to.deep.equal([all.items[1].id]);
      expect(second).to.include({ total: all.total, offset: 1, limit: 1 });
    });

    it('gets one incident: with its grants for whoever runs it, without them for an investigator it is granted to', async () => {
      const opened = await open();
      const given = await grant(opened.id);
      const asRunner = await okAs(tokens.operator, 'GET', `/api/incidents/${opened.id}`);
      expect(asRunner).to.deep.include({ id: opened.id, title: opened.title, status: 'open' });
      expect(asRunner.cameras).to.deep.equal(opened.cameras);
      expect(asRunner.grants.map((g: Json) => g.id)).to.deep.equal([given.id]);
      expect((await incident(opened.id)).grants).to.have.length(1);
      const asInvestigator = await okAs(tokens.investigator, 'GET', `/api/incidents/${opened.id}`);
      expect(asInvestigator.id).to.equal(opened.id);
      expect(asInvestigator.grants).to.deep.equal([]);
    });

    it('attaches cameras by hand (once each, in the order given) and detaches them', async () => {
      const opened = await open({ autoAttach: false });
      const before = await auditTotal();
      const attached = await okAs(tokens.operator, 'POST', `/api/incidents/${opened.id}/cameras`, { cameras: ['NOLOC', 'N4', 'NOLOC'] });
      expect(attached.cameras.map((c: Json) => c.code)).to.deep.equal(['NOLOC', 'N4']);
      expect(attached.cameras[0]).to.not.have.property('distanceM');
      expect(attached.cameras[1].distanceM).to.equal(400);
      const again = await okAs(tokens.operator, 'POST', `/api/incidents/${opened.id}/cameras`, { cameras: ['N4', 'N1'] });
      expect(again.cameras.map((c: Json) => c.code)).to.deep.equal(['NOLOC', 'N4', 'N1']);
      // Attaching only cameras already attached changes nothing and records nothing.
      const total = await auditTotal();
      expect((await okAs(tokens.operator, 'POST', `/api/incidents/${opened.id}/cameras`, { cameras: ['N1'] })).cameras).to.deep.equal(again.cameras);
      expect(await auditTotal()).to.equal(total);
      const detached = await okAs(tokens.operator, 'DELETE', `/api/incidents/${opened.id}/cameras/N4`);
      expect(detached.cameras.map((c: Json) => c.code)).to.deep.equal(['NOLOC', 'N1']);
      expect((await incident(opened.id)).cameras.map((c: Json) => c.code)).to.deep.equal(['NOLOC', 'N1']);
      const entries = (await okAs(tokens.admin, 'GET', `/api/audit?incident=${opened.id}&action=incident`)).items.reverse();
      expect(entries.map((e: Json) => [e.action, e.details.cameras])).to.deep.equal([
        ['incident.open', []],
        ['incident.attach', ['NOLOC', 'N4']],
        ['incident.attach', ['N1']],
        ['incident.detach', ['N4']],
      ]);
      expect(entries[3].cameraId).to.equal('N4');
      expect(await auditTotal()).to.equal(before + 3);
    });

    it('grants: creates (all cameras, or a subset), lists per incident and "mine", extends and revokes', async () => {
      const opened = await open();
      const all = await grant(opened.id);
      expect(all).to.deep.include({ incidentId: opened.id, scope: 'all', status: 'active', live: true });
      expect(all.investigator).to.deep.include({ userId: ids.investigator });
      expect(all.grantedBy).to.deep.include({ userId: ids.operator });
      expect(Date.parse(all.endsAt) - Date.now()).to.be.within(59 * MINUTE, 60 * MINUTE + 5000);
      const endsAt = inMinutes(30);
      const subset = await grant(opened.id, { investigator: ids.investigator2, scope: 'cameras', cameras: ['N2', 'N2'], endsAt });
      expect(subset).to.deep.include({ scope: 'cameras', cameras: ['N2'], endsAt });

      expect((await grantsOf(opened.id)).map((g: Json) => g.id)).to.deep.equal([all.id, subset.id]);
      const mine = (await okAs(tokens.investigator2, 'GET', '/api/grants/mine')).items;
      expect(mine).to.have.length(1);
      expect(mine[0].grant.id).to.equal(subset.id);
      expect(mine[0].incident).to.deep.include({ id: opened.id, title: opened.title, status: 'open', municipality: 'Norte' });
      expect(mine[0].cameras).to.deep.equal(['N2']);
      const mineAll = (await okAs(tokens.investigator, 'GET', '/api/grants/mine')).items.find((item: Json) => item.grant.id === all.id);
      expect(mineAll.cameras).to.deep.equal(['N1', 'N2', 'N3']);
      // An 'all' grant follows the incident's cameras.
      await okAs(tokens.operator, 'POST', `/api/incidents/${opened.id}/cameras`, { cameras: ['NOLOC'] });
      expect((await okAs(tokens.investigator, 'GET', '/api/grants/mine')).items.find((item: Json) => item.grant.id === all.id).cameras).to.deep.equal(['N1', 'N2', 'N3', 'NOLOC']);

      const later = inMinutes(90);
      const extended = await okAs(tokens.operator, 'POST', `/api/grants/${subset.id}/extend`, { endsAt: later });
      expect(extended).to.deep.include({ id: subset.id, endsAt: later, status: 'active', live: true });
      const revoked = await okAs(tokens.operator, 'POST', `/api/grants/${subset.id}/revoke`, { reason: 'suspect identified' });
      expect(revoked).to.deep.include({ id: subset.id, status: 'revoked', endReason: 'suspect identified', live: false });
      expect(revoked.endedBy).to.deep.include({ userId: ids.operator });
      expect(revoked.endedAt).to.be.a('string');
      expect((await okAs(tokens.investigator2, 'GET', '/api/grants/mine')).items).to.deep.equal([]);
      expect((await grantsOf(opened.id)).map((g: Json) => [g.id, g.status])).to.deep.equal([
        [all.id, 'active'],
        [subset.id, 'revoked'],
      ]);
      // The investigator no longer reads the incident.
      expect((await api(tokens.investigator2, 'GET', `/api/incidents/${opened.id}`)).status).to.equal(404);

      const actions = (await okAs(tokens.admin, 'GET', `/api/audit?incident=${opened.id}&action=grant`)).items.reverse();
      expect(actions.map((e: Json) => [e.action, e.details.grantId])).to.deep.equal([
        ['grant.create', all.id],
        ['grant.create', subset.id],
        ['grant.extend', subset.id],
        ['grant.revoke', subset.id],
      ]);
      expect(actions[3].details.reason).to.equal('suspect identified');
      // Investigators the operator may grant to: enabled ones only.
      const investigators = (await okAs(tokens.operator, 'GET', '/api/investigators')).items.map((u: Json) => u.id);
      expect(investigators).to.include.members([ids.investigator, ids.investigator2]).and.not.include(ids.disabledInvestigator);
    });

    it('closes an incident once, with a disposition and a note, and ends its grants', async () => {
      const opened = await open();
      const first = await grant(opened.id);
      const second = await grant(opened.id, { investigator: ids.investigator2, scope: 'cameras', cameras: ['N1'] });
      const closed = await okAs(tokens.operator, 'POST', `/api/incidents/${opened.id}/close`, { disposition: 'resolved', note: 'arrest made' });
      expect(closed).to.deep.include({ status: 'closed', disposition: 'resolved', closingNote: 'arrest made' });
      expect(closed.closedBy).to.deep.include({ userId: ids.operator });
      expect(closed.cameras.map((c: Json) => c.code)).to.deep.equal(['N1', 'N2', 'N3']);
      const grants = await grantsOf(opened.id);
      expect(grants.map((g: Json) => [g.id, g.status, g.endReason, g.live])).to.deep.equal([
        [first.id, 'ended', 'the incident closed', false],
        [second.id, 'ended', 'the incident closed', false],
      ]);
      expect(grants[0].endedBy).to.deep.include({ userId: ids.operator });
      const mine = (await okAs(tokens.investigator2, 'GET', '/api/grants/mine')).items.map((item: Json) => item.grant.id);
      expect(mine).to.not.include(second.id);
      const actions = (await okAs(tokens.admin, 'GET', `/api/audit?incident=${opened.id}`)).items.map((e: Json) => e.action).reverse();
      expect(actions).to.deep.equal(['incident.open', 'grant.create', 'grant.create', 'incident.close', 'grant.end', 'grant.end']);
    });

    it('reports an incident: its timeline entries carry the seq and hash of the audit entries of that incident, and the chain verifies', async () => {
      const opened = await open();
      await okAs(tokens.operator, 'POST', `/api/incidents/${opened.id}/cameras`, { cameras: ['N4'] });
      await okAs(tokens.operator, 'DELETE', `/api/incidents/${opened.id}/cameras/N3`);
      const given = await grant(opened.id);
      await okAs(tokens.operator, 'POST', `/api/grants/${given.id}/extend`, { endsAt: inMinutes(100) });
      await okAs(tokens.operator, 'POST', `/api/grants/${given.id}/revoke`, { reason: 'done' });
      await okAs(tokens.operator, 'POST', `/api/incidents/${opened.id}/close`, { disposition: 'referred', note: 'to the prosecutor' });

      const report = await okAs(tokens.operator, 'GET', `/api/incidents/${opened.id}/report`);
      expect(report.incident).to.deep.include({ id: opened.id, status: 'closed', disposition: 'referred' });
      expect(report.grants.map((g: Json) => [g.id, g.status])).to.deep.equal([[given.id, 'revoked']]);
      expect(report.views).to.deep.equal([]);
      expect(Date.parse(report.generatedAt)).to.be.closeTo(Date.now(), 10_000);
      expect(report.timeline.map((e: Json) => e.action)).to.deep.equal(['incident.open', 'incident.attach', 'incident.detach', 'grant.create', 'grant.extend', 'grant.revoke', 'incident.close']);
      const seqs = report.timeline.map((e: Json) => e.seq);
      expect(seqs, 'oldest first').to.deep.equal([...seqs].sort((a: number, b: number) => a - b));
      expect(report.timeline.every((e: Json) => e.incidentId === opened.id)).to.equal(true);

      const audit = await okAs(tokens.admin, 'GET', `/api/audit?incident=${opened.id}&limit=500`);
      expect(audit.total).to.equal(report.timeline.length);
      const chain = (entries: Json[]) => entries.map((e) => ({ seq: e.seq, hash: e.hash, prevHash: e.prevHash })).sort((a, b) => a.seq - b.seq);
      expect(chain(report.timeline)).to.deep.equal(chain(audit.items));
      expect(report.timeline).to.deep.equal([...audit.items].reverse());
      const verify = await okAs(tokens.admin, 'GET', '/api/audit/verify');
      expect(verify.ok, JSON.stringify(verify.problems)).to.equal(true);
      expect(verify.problems).to.deep.equal([]);
      expect(verify.entries).to.be.at.least(Math.max(...seqs));
    });

    it('break-glass: an operator states a reason for an incident-only citizen camera outside any open incident; admins list it', async () => {
      const operator = await t.token('operator', { areas: ['citizen'], municipalities: ['Sur'] });
      const started = Date.now();
      const glass = await okAs(operator, 'POST', '/api/break-glass', { camera: 'S1', reason: '  person reported missing near the camera  ' }, 201);
      expect(glass).to.deep.include({ camera: 'S1', reason: 'person reported missing near the camera' });
      expect(Date.parse(glass.until) - Date.parse(glass.startedAt)).to.equal(5 * MINUTE);
      expect(Date.parse(glass.startedAt)).to.be.closeTo(started, 5000);
      const listed = await okAs(tokens.admin, 'GET', '/api/break-glass?limit=10');
      const item = listed.items.find((i: Json) => i.id === glass.id);
      expect(item).to.deep.include({ camera: 'S1', reason: 'person reported missing near the camera', active: true, until: glass.until });
      expect(item.auditSeq).to.be.a('number');
      const [entry] = (await okAs(tokens.admin, 'GET', '/api/audit?action=break_glass.start&camera=S1')).items;
      expect(entry).to.deep.include({ seq: item.auditSeq });
      expect(entry.details).to.deep.include({ breakGlassId: glass.id, reason: 'person reported missing near the camera', minutes: 5 });
    });
  });

  describe('bad input: a clear 4xx with a stable code, and nothing changed', () => {
    /** An open Norte incident (N1, N2, N3 attached) with a live grant to the investigator. */
    let target: Json;
    let live: Json;
    let closedIncident: Json;
    let revokedGrant: Json;
    const unknownId = 'ZZZZZZZZZZZZZZZZ';
    const snapshot = async () => ({ incident: await incident(target.id), grants: await grantsOf(target.id) });

    before(async () => {
      target = await open({ title: 'Refusals' });
      live = await grant(target.id, { endsAt: inMinutes(60) });
      revokedGrant = await grant(target.id, { investigator: ids.investigator2 });
      await okAs(tokens.operator, 'POST', `/api/grants/${revokedGrant.id}/revoke`, { reason: 'not needed' });
      closedIncident = await open({ title: 'Closed already' });
      await okAs(tokens.operator, 'POST', `/api/incidents/${closedIncident.id}/close`, { disposition: 'no_action', note: 'first close' });
    });

    it('an unknown incident or grant: 404 not_found', async () => {
      const before = await snapshot();
      for (const [op, body] of [
        ['GET /api/incidents/{id}', undefined],
        ['GET /api/incidents/{id}/report', undefined],
        ['GET /api/incidents/{id}/grants', undefined],
        ['POST /api/incidents/{id}/cameras', { cameras: ['N4'] }],
        ['DELETE /api/incidents/{id}/cameras/{code}', undefined],
        ['POST /api/incidents/{id}/close', { disposition: 'resolved', note: 'x' }],
        ['POST /api/incidents/{id}/grants', { investigator: ids.investigator, scope: 'all' }],
      ] as const) {
        await refused(op, { id: unknownId, code: 'N1' }, tokens.admin, body, 404, 'not_found');
      }
      // A MongoDB-shaped id names nothing in the embedded store either.
      await refused('GET /api/incidents/{id}', { id: '0123456789abcdef01234567' }, tokens.admin, undefined, 404, 'not_found');
      await refused('POST /api/grants/{id}/extend', { id: unknownId }, tokens.operator, { endsAt: inMinutes(10) }, 404, 'not_found');
      await refused('POST /api/grants/{id}/revoke', { id: unknownId }, tokens.operator, { reason: 'x' }, 404, 'not_found');
      // An incident of another municipality is not found for the operator (it is not theirs to know of)...
      await refused('GET /api/incidents/{id}', { id: target.id }, tokens.operatorSur, undefined, 404, 'not_found');
      await refused('POST /api/incidents/{id}/close', { id: target.id }, tokens.operatorSur, { disposition: 'resolved', note: 'not mine' }, 404, 'not_found');
      await refused('POST /api/grants/{id}/revoke', { id: live.id }, tokens.operatorSur, { reason: 'not mine' }, 404, 'not_found');
      // ...nor for an investigator without a grant on it; detaching a camera that is not attached is a 404 too.
      await refused('GET /api/incidents/{id}', { id: target.id }, tokens.investigator2, undefined, 404, 'not_found');
      await refused('DELETE /api/incidents/{id}/cameras/{code}', { id: target.id, code: 'N4' }, tokens.operator, undefined, 404, 'not_found');
      expect(await snapshot()).to.deep.equal(before);
    });

    it('a malformed id, code or body: 400 invalid_request', async () => {
      const before = await snapshot();
      for (const id of ['bad%21id', 'a'.repeat(65), '%E0%A4%A', '..%2F..%2Fetc']) {
        await refused('GET /api/incidents/{id}', { id }, tokens.admin, undefined, 400, 'invalid_request');
        await refused('POST /api/incidents/{id}/close', { id }, tokens.admin, { disposition: 'resolved', note: 'x' }, 400, 'invalid_request');
        await refused('POST /api/grants/{id}/revoke', { id }, tokens.admin, { reason: 'x' }, 400, 'invalid_request');
      }
      await refused('DELETE /api/incidents/{id}/cameras/{code}', { id: target.id, code: '-N1' }, tokens.operator, undefined, 400, 'invalid_request');
      await refused('POST /api/incidents/{id}/cameras', { id: target.id }, tokens.operator, { cameras: [] }, 400, 'invalid_request');
      await refused('POST /api/incidents/{id}/cameras', { id: target.id }, tokens.operator, '{"cameras": [', 400, 'invalid_request');
      await refused('POST /api/incidents/{id}/close', { id: target.id }, tokens.operator, { disposition: 'resolved' }, 400, 'invalid_request');
      await refused('POST /api/incidents/{id}/close', { id: target.id }, tokens.operator, { disposition: 'solved', note: 'x' }, 400, 'invalid_request');
      await refused('POST /api/incidents/{id}/grants', { id: target.id }, tokens.operator, { investigator: ids.investigator, scope: 'all', endsAt: 'tomorrow' }, 400, 'invalid_request');
      await refused('POST /api/grants/{id}/extend', { id: live.id }, tokens.operator, { endsAt: inMinutes(10).slice(0, 10) }, 400, 'invalid_request');
      await refused('POST /api/incidents', {}, tokens.operator, { title: 'x', kind: 'robbery', location: { lat: 91, lng: 0 }, municipality: 'Norte' }, 400, 'invalid_request');
      await refused('POST /api/incidents', {}, tokens.operator, { title: 'x', kind: 'robbery', location: ZOCALO, municipality: 'Norte', radiusM: 5 }, 400, 'invalid_request');
      await refused('POST /api/incidents', {}, tokens.operator, { title: 'x', kind: 'robbery', location: ZOCALO, municipality: 'Norte', cameras: ['N1'] }, 400, 'invalid_request');
      for (const query of ['status=opened', 'limit=0', 'limit=201', 'offset=-1', 'sort=title']) {
        const before = await auditTotal();
        const res = await api(tokens.operator, 'GET', `/api/incidents?${query}`);
        expect([res.status, res.json.error?.code], query).to.deep.equal([400, 'invalid_request']);
        expect(await auditTotal()).to.equal(before);
      }
      expect(await snapshot()).to.deep.equal(before);
    });

    it('closing twice: 409 invalid_state, the first closing kept; nothing changes on a closed incident', async () => {
      const before = await incident(closedIncident.id);
      const error = await refused('POST /api/incidents/{id}/close', { id: closedIncident.id }, tokens.operator, { disposition: 'resolved', note: 'second close' }, 409, 'invalid_state');
      expect(error.message).to.match(/closed/);
      await refused('POST /api/incidents/{id}/cameras', { id: closedIncident.id }, tokens.operator, { cameras: ['N4'] }, 409, 'invalid_state');
      await refused('DELETE /api/incidents/{id}/cameras/{code}', { id: closedIncident.id, code: 'N1' }, tokens.operator, undefined, 409, 'invalid_state');
      await refused('POST /api/incidents/{id}/grants', { id: closedIncident.id }, tokens.operator, { investigator: ids.investigator, scope: 'all' }, 409, 'invalid_state');
      const after = await incident(closedIncident.id);
      expect(after).to.deep.equal(before);
      expect(after).to.deep.include({ status: 'closed', closingNote: 'first close', disposition: 'no_action' });
    });

    it('a grant that is no longer live cannot be extended or revoked: 409 invalid_state', async () => {
      const before = await snapshot();
      await refused('POST /api/grants/{id}/extend', { id: revokedGrant.id }, tokens.operator, { endsAt: inMinutes(30) }, 409, 'invalid_state');
      await refused('POST /api/grants/{id}/revoke', { id: revokedGrant.id }, tokens.operator, { reason: 'again' }, 409, 'invalid_state');
      expect(await snapshot()).to.deep.equal(before);
    });

    it('granting to someone who is not an enabled investigator: 422 unprocessable', async () => {
      const before = await snapshot();
      for (const investigator of [ids.operator, ids.disabledInvestigator, 'ZZZZZZZZZZZZZZZZ']) {
        await refused('POST /api/incidents/{id}/grants', { id: target.id }, tokens.operator, { investigator, scope: 'all' }, 422, 'unprocessable');
      }
      expect(await snapshot()).to.deep.equal(before);
    });

    it('a grant ending in the past or beyond the maximum, an extension not later or beyond it: 422 unprocessable, the grant unchanged', async () => {
      const before = await snapshot();
      const create = (body: Record<string, unknown>) => refused('POST /api/incidents/{id}/grants', { id: target.id }, tokens.operator, { investigator: ids.investigator, scope: 'all', ...body }, 422, 'unprocessable');
      expect((await create({ endsAt: inMinutes(-1) })).message).to.match(/past/);
      expect((await create({ endsAt: inMinutes(GRANT_MAX_MINUTES + 5) })).message).to.match(new RegExp(`${GRANT_MAX_MINUTES} minutes`));
      // The rule between fields: a subset needs its cameras, and only attached ones.
      await create({ scope: 'cameras' });
      await create({ scope: 'all', cameras: ['N1'] });
      expect((await create({ scope: 'cameras', cameras: ['N1', 'N4'] })).message).to.match(/N4/);
      const extend = (endsAt: string) => refused('POST /api/grants/{id}/extend', { id: live.id }, tokens.operator, { endsAt }, 422, 'unprocessable');
      await extend(inMinutes(-5));
      await extend(inMinutes(GRANT_MAX_MINUTES + 1));
      expect((await extend(inMinutes(10))).message).to.match(/later than the current one/);
      expect(await snapshot()).to.deep.equal(before);
    });

    it('attaching a retired, revoked, pending or unknown camera: 422 unprocessable, the cameras unchanged', async () => {
      const before = await snapshot();
      for (const [code, words] of [
        ['RET', /retired/],
        ['REV', /revoked/],
        ['PEND', /pending/],
        ['NOPE-1', /not registered/],
      ] as const) {
        const error = await refused('POST /api/incidents/{id}/cameras', { id: target.id }, tokens.operator, { cameras: ['N4', code] }, 422, 'unprocessable');
        expect(error.message).to.match(words);
      }
      expect(await snapshot()).to.deep.equal(before);
    });

    it('break-glass without a reason (400), on a camera that is not incident-only (422), unknown (404), outside the scope or not an operator (403)', async () => {
      const operator = await t.token('operator', { areas: ['citizen'], municipalities: ['Sur'] });
      const glassBefore = (await okAs(tokens.admin, 'GET', '/api/break-glass')).total;
      await refused('POST /api/break-glass', {}, operator, { camera: 'S1' }, 400, 'invalid_request');
      await refused('POST /api/break-glass', {}, operator, { camera: 'S1', reason: '   ' }, 400, 'invalid_request');
      await refused('POST /api/break-glass', {}, operator, { camera: 'S1', reason: '' }, 400, 'invalid_request');
      await refused('POST /api/break-glass', {}, operator, { camera: 'S1', reason: 'x'.repeat(501) }, 400, 'invalid_request');
      // Not incident-only: an agency camera, a citizen camera shared live.
      await refused('POST /api/break-glass', {}, tokens.operator, { camera: 'N1', reason: 'looking' }, 422, 'unprocessable');
      await refused('POST /api/break-glass', {}, tokens.operator, { camera: 'LIVE-C', reason: 'looking' }, 422, 'unprocessable');
      // An incident the operator runs shows it already: no break-glass needed.
      await refused('POST /api/break-glass', {}, tokens.operator, { camera: 'N2', reason: 'looking' }, 422, 'unprocessable');
      await refused('POST /api/break-glass', {}, operator, { camera: 'NOPE-1', reason: 'looking' }, 404, 'not_found');
      await refused('POST /api/break-glass', {}, operator, { camera: 'RET', reason: 'looking' }, 404, 'not_found');
      // S1 is in Sur: the Norte operator may not; nor may anyone but an operator.
      await refused('POST /api/break-glass', {}, tokens.operator, { camera: 'S1', reason: 'looking' }, 403, 'forbidden');
      for (const role of ['admin', 'supervisor', 'investigator'] as const) {
        await refused('POST /api/break-glass', {}, tokens[role], { camera: 'S1', reason: 'looking' }, 403, 'forbidden');
      }
      expect((await okAs(tokens.admin, 'GET', '/api/break-glass')).total).to.equal(glassBefore);
    });

    it('wrong roles: 403 forbidden; no token: 401 unauthenticated', async () => {
      const before = await snapshot();
      const body = { title: 'x', kind: 'robbery', location: ZOCALO, municipality: 'Norte' };
      for (const role of ['supervisor', 'investigator'] as const) {
        const as = tokens[role];
        await refused('POST /api/incidents', {}, as, body, 403, 'forbidden');
        await refused('GET /api/incidents', {}, as, undefined, 403, 'forbidden');
        await refused('POST /api/incidents/{id}/cameras', { id: target.id }, as, { cameras: ['N4'] }, 403, 'forbidden');
        await refused('DELETE /api/incidents/{id}/cameras/{code}', { id: target.id, code: 'N1' }, as, undefined, 403, 'forbidden');
        await refused('POST /api/incidents/{id}/close', { id: target.id }, as, { disposition: 'resolved', note: 'x' }, 403, 'forbidden');
        await refused('POST /api/incidents/{id}/grants', { id: target.id }, as, { investigator: ids.investigator, scope: 'all' }, 403, 'forbidden');
        await refused('GET /api/incidents/{id}/grants', { id: target.id }, as, undefined, 403, 'forbidden');
        await refused('GET /api/incidents/{id}/report', { id: target.id }, as, undefined, 403, 'forbidden');
        await refused('POST /api/grants/{id}/extend', { id: live.id }, as, { endsAt: inMinutes(90) }, 403, 'forbidden');
        await refused('POST /api/grants/{id}/revoke', { id: live.id }, as, { reason: 'x' }, 403, 'forbidden');
        await refused('GET /api/investigators', {}, as, undefined, 403, 'forbidden');
        await refused('GET /api/break-glass', {}, as, undefined, 403, 'forbidden');
      }
      // An operator opens incidents only in their municipalities; grants/mine is for investigators; break-glass lists for admins.
      await refused('POST /api/incidents', {}, tokens.operatorSur, body, 403, 'forbidden');
      await refused('GET /api/grants/mine', {}, tokens.operator, undefined, 403, 'forbidden');
      await refused('GET /api/grants/mine', {}, tokens.admin, undefined, 403, 'forbidden');
      await refused('GET /api/break-glass', {}, tokens.operator, undefined, 403, 'forbidden');
      for (const op of ['GET /api/incidents', 'GET /api/incidents/{id}', 'GET /api/grants/mine', 'GET /api/investigators', 'GET /api/break-glass']) {
        await refused(op, { id: target.id }, undefined, undefined, 401, 'unauthenticated');
      }
      await refused('POST /api/incidents/{id}/close', { id: target.id }, undefined, { disposition: 'resolved', note: 'x' }, 401, 'unauthenticated');
      await refused('POST /api/grants/{id}/revoke', { id: live.id }, 'not-a-token', { reason: 'x' }, 401, 'unauthenticated');
      expect(await snapshot()).to.deep.equal(before);
    });
  });
});
