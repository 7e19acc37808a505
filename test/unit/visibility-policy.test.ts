import { expect } from 'chai';
import { NO_INCIDENT_ACCESS, VisibilityPolicy, type Allowance, type IncidentAccess, type Viewer } from '../../server/auth/VisibilityPolicy.ts';
import { roles, type Role } from '../../server/auth/Identity.ts';
import { approvalStatuses, cameraAreas, type ApprovalStatus, type CameraArea, type CameraFilter, type SharingMode } from '../../server/catalog/CameraRecord.ts';

// The rule, as the class comment states it (restated here, not taken from the policy):
//  1. nobody watches a camera that is not approved, or is retired;
//  2. admin sees every camera;
//  3. operators and supervisors see a camera when its area is one of theirs AND (their
//     municipality list is empty OR contains the camera's) AND, for a citizen camera, its
//     sharing is `live`;
//  4. investigators see no camera through this policy.
// inScope is the same rule without condition 1; scope(viewer) is the catalog filter selecting
// exactly what inScope allows (CameraFilter: "one of these areas, one of these municipalities,
// citizen cameras only with this sharing"; `codes: []` selects nothing).

interface Camera {
  area: CameraArea;
  municipality: string;
  sharing?: SharingMode;
  status: ApprovalStatus;
  retiredAt?: Date;
}

const HOME = 'Monterrey';
const OTHER = 'San Pedro Garza García';

function expectedInScope(viewer: Viewer, camera: Camera): boolean {
  if (viewer.role === 'admin') return true;
  if (viewer.role === 'investigator') return false;
  const areaIsTheirs = viewer.areas.includes(camera.area);
  const municipalityIsTheirs = viewer.municipalities.length === 0 || viewer.municipalities.includes(camera.municipality);
  const sharedLive = camera.area !== 'citizen' || camera.sharing === 'live';
  return areaIsTheirs && municipalityIsTheirs && sharedLive;
}

function expectedCanView(viewer: Viewer, camera: Camera): boolean {
  if (camera.status !== 'approved' || camera.retiredAt !== undefined) return false;
  return expectedInScope(viewer, camera);
}

/**
 * CameraFilter semantics as its field comments describe them (the fields scope() may set): `codes`
 * narrows; the scope (areas, municipalities, citizen sharing) OR, with `orCameras`, a code among its
 * codes with its area (when given).
 */
function filterMatches(filter: CameraFilter, camera: Camera & { code: string }): boolean {
  const known = new Set(['areas', 'municipalities', 'citizenSharing', 'codes', 'orCameras']);
  for (const key of Object.keys(filter)) expect(known.has(key), `unexpected filter field ${key}`).to.equal(true);
  if (filter.codes && !filter.codes.includes(camera.code)) return false;
  let inScope = true;
  if (filter.areas && !filter.areas.includes(camera.area)) inScope = false;
  if (filter.municipalities && !filter.municipalities.includes(camera.municipality)) inScope = false;
  if (filter.citizenSharing && camera.area === 'citizen' && camera.sharing !== filter.citizenSharing) inScope = false;
  if (inScope) return true;
  const extra = filter.orCameras;
  return extra !== undefined && extra.codes.includes(camera.code) && (extra.area === undefined || extra.area === camera.area);
}

const viewerAreaSets: CameraArea[][] = [['agency'], ['citizen'], ['agency', 'citizen'], []];
const municipalityLists: Array<{ label: string; list: string[] }> = [
  { label: 'municipalities [Monterrey]', list: [HOME] },
  { label: 'municipalities [] (all)', list: [] },
  { label: 'municipalities [Monterrey, Apodaca]', list: [HOME, 'Apodaca'] },
];
const cameraMunicipalities: Array<{ label: string; name: string }> = [
  { label: 'in scope', name: HOME },
  { label: 'out of scope', name: OTHER },
];
const sharingFor = (area: CameraArea): Array<SharingMode | undefined> => (area === 'citizen' ? ['live', 'incident-only', undefined] : [undefined, 'incident-only']);

function viewers(): Array<{ label: string; viewer: Viewer }> {
  const out: Array<{ label: string; viewer: Viewer }> = [];
  for (const role of roles) {
    for (const areas of viewerAreaSets) {
      for (const { label, list } of municipalityLists) {
        out.push({ label: `${role} areas [${areas.join(', ')}] ${label}`, viewer: { role, areas, municipalities: list } });
      }
    }
  }
  return out;
}

function cameras(): Array<{ label: string; camera: Camera & { code: string } }> {
  const out: Array<{ label: string; camera: Camera & { code: string } }> = [];
  let n = 0;
  for (const area of cameraAreas) {
    for (const { label: where, name } of cameraMunicipalities) {
      for (const status of approvalStatuses) {
        for (const retired of [false, true]) {
          for (const sharing of sharingFor(area)) {
            out.push({
              label: `${area} camera, ${where}, ${status}${retired ? ', retired' : ''}${sharing ? `, sharing ${sharing}` : ''}`,
              camera: {
                code: `CAM-${++n}`,
                area,
                municipality: name,
                status,
                ...(retired && { retiredAt: new Date('2026-01-01T00:00:00Z') }),
                ...(sharing && { sharing }),
              },
            });
          }
        }
      }
    }
  }
  return out;
}

describe('VisibilityPolicy', () => {
  describe('canView: every role × viewer areas × municipality list × camera area × municipality × status × retired × sharing', () => {
    for (const { label, viewer } of viewers()) {
      it(label, () => {
        let visible = 0;
        for (const { label: cameraLabel, camera } of cameras()) {
          const expected = expectedCanView(viewer, camera);
          expect(VisibilityPolicy.canView(viewer, camera), `${label} / ${cameraLabel}`).to.equal(expected);
          expect(VisibilityPolicy.inScope(viewer, camera), `inScope ${label} / ${cameraLabel}`).to.equal(expectedInScope(viewer, camera));
          if (expected) visible++;
        }
        // Never anything but approved, unretired cameras; admin sees all of those.
        const viewable = cameras().filter(({ camera }) => camera.status === 'approved' && !camera.retiredAt).length;
        if (viewer.role === 'admin') expect(visible).to.equal(viewable);
        if (viewer.role === 'investigator') expect(visible).to.equal(0);
      });
    }
  });

  describe('canView: the rule line by line (hand-written rows)', () => {
    const operator: Viewer = { role: 'operator', areas: ['agency', 'citizen'], municipalities: [HOME] };
    const approvedAgency: Camera = { area: 'agency', municipality: HOME, status: 'approved' };
    const rows: Array<{ name: string; viewer: Viewer; camera: Camera; visible: boolean }> = [
      { name: 'operator, own area and municipality', viewer: operator, camera: approvedAgency, visible: true },
      { name: 'supervisor, same', viewer: { ...operator, role: 'supervisor' }, camera: approvedAgency, visible: true },
      { name: 'operator, other municipality', viewer: operator, camera: { ...approvedAgency, municipality: OTHER }, visible: false },
      { name: 'operator with no municipality list sees every municipality', viewer: { ...operator, municipalities: [] }, camera: { ...approvedAgency, municipality: OTHER }, visible: true },
      { name: 'operator, area not theirs', viewer: { ...operator, areas: ['citizen'] }, camera: approvedAgency, visible: false },
      { name: 'operator with no areas sees nothing', viewer: { ...operator, areas: [] }, camera: approvedAgency, visible: false },
      { name: 'citizen camera shared live', viewer: operator, camera: { area: 'citizen', municipality: HOME, status: 'approved', sharing: 'live' }, visible: true },
      { name: 'citizen camera shared incident-only', viewer: operator, camera: { area: 'citizen', municipality: HOME, status: 'approved', sharing: 'incident-only' }, visible: false },
      { name: 'citizen camera without sharing', viewer: operator, camera: { area: 'citizen', municipality: HOME, status: 'approved' }, visible: false },
      { name: 'agency camera: sharing is irrelevant', viewer: operator, camera: { ...approvedAgency, sharing: 'incident-only' }, visible: true },
      { name: 'pending camera, even for admin', viewer: { role: 'admin', areas: [], municipalities: [] }, camera: { ...approvedAgency, status: 'pending' }, visible: false },
      { name: 'suspended camera', viewer: operator, camera: { ...approvedAgency, status: 'suspended' }, visible: false },
      { name: 'revoked camera', viewer: operator, camera: { ...approvedAgency, status: 'revoked' }, visible: false },
      { name: 'rejected camera', viewer: operator, camera: { ...approvedAgency, status: 'rejected' }, visible: false },
      { name: 'retired camera, even for admin', viewer: { role: 'admin', areas: [], municipalities: [] }, camera: { ...approvedAgency, retiredAt: new Date(0) }, visible: false },
      { name: 'admin (areas and municipalities ignored) sees an approved citizen incident-only camera elsewhere', viewer: { role: 'admin', areas: [], municipalities: [HOME] }, camera: { area: 'citizen', municipality: OTHER, status: 'approved', sharing: 'incident-only' }, visible: true },
      { name: 'investigator with every area sees nothing', viewer: { role: 'investigator', areas: ['agency', 'citizen'], municipalities: [] }, camera: approvedAgency, visible: false },
    ];
    for (const row of rows) {
      it(`${row.name} -> ${row.visible}`, () => expect(VisibilityPolicy.canView(row.viewer, { code: 'T1', ...row.camera })).to.equal(row.visible));
    }
  });

  describe('scope(viewer): the matching catalog filter', () => {
    const rows: Array<{ viewer: Viewer; filter: CameraFilter }> = [
      { viewer: { role: 'admin', areas: [], municipalities: [] }, filter: {} },
      { viewer: { role: 'admin', areas: ['agency'], municipalities: [HOME] }, filter: {} },
      { viewer: { role: 'investigator', areas: ['agency', 'citizen'], municipalities: [] }, filter: { codes: [] } },
      { viewer: { role: 'operator', areas: ['agency'], municipalities: [HOME] }, filter: { areas: ['agency'], municipalities: [HOME], citizenSharing: 'live' } },
      { viewer: { role: 'operator', areas: ['agency', 'citizen'], municipalities: [] }, filter: { areas: ['agency', 'citizen'], citizenSharing: 'live' } },
      { viewer: { role: 'supervisor', areas: ['citizen'], municipalities: [HOME, 'Apodaca'] }, filter: { areas: ['citizen'], municipalities: [HOME, 'Apodaca'], citizenSharing: 'live' } },
      { viewer: { role: 'supervisor', areas: [], municipalities: [] }, filter: { areas: [], citizenSharing: 'live' } },
    ];
    for (const { viewer, filter } of rows) {
      it(`${viewer.role} areas [${viewer.areas.join(', ')}] municipalities [${viewer.municipalities.join(', ')}]`, () => {
        expect(VisibilityPolicy.scope(viewer)).to.deep.equal(filter);
      });
    }

    it('selects exactly what inScope allows, for every viewer and camera of the grid', () => {
      const grid = cameras();
      for (const { label, viewer } of viewers()) {
        const filter = VisibilityPolicy.scope(viewer);
        for (const { label: cameraLabel, camera } of grid) {
          expect(filterMatches(filter, camera), `${label} / ${cameraLabel}`).to.equal(expectedInScope(viewer, camera));
        }
      }
    });

    it('returns copies: changing the filter does not change the viewer', () => {
      const viewer: Viewer = { role: 'operator', areas: ['agency'], municipalities: [HOME] };
      const filter = VisibilityPolicy.scope(viewer);
      filter.areas!.push('citizen');
      filter.municipalities!.push(OTHER);
      expect(viewer.areas).to.deep.equal(['agency']);
      expect(viewer.municipalities).to.deep.equal([HOME]);
    });
  });

  it('canAdminister: admin only', () => {
    const expected: Record<Role, boolean> = { admin: true, operator: false, supervisor: false, investigator: false };
    for (const role of roles) expect(VisibilityPolicy.canAdminister({ role }), role).to.equal(expected[role]);
  });
});

// With incidents (issue #21), restated here from the issue's rules:
//  5. an operator runs the open incidents whose municipality is in their list (empty: all); admins
//     run every incident. A camera attached to an incident the operator runs is seen when their own
//     scope (rule 3) has it, or when it is a citizen camera (any sharing, any municipality) and
//     `citizen` is among their areas. The incident is named whenever one allows the view (the first
//     open incident holding the camera), even when the own scope would allow it too;
//  6. an operator with a break-glass view of a citizen camera until a time after now sees it;
//  7. investigators see only through live grants: status active, end after now, incident open; an
//     'all' grant gives every camera attached to the incident, a 'cameras' grant the listed ones
//     while attached. Their own areas and municipalities count for nothing. The first grant that
//     allows the camera is named;
//  8. supervisors gain nothing from incidents.
// scope(viewer, access) selects exactly the cameras allowance() allows, approval aside.

const NOW = Date.parse('2026-11-30T12:00:00Z');
const HOUR = 3_600_000;
type IncidentCamera = Camera & { code: string };
type Grant = IncidentAccess['grants'][number];

function expectedAllowance(viewer: Viewer, camera: IncidentCamera, access: IncidentAccess): Allowance | undefined {
  if (camera.status !== 'approved' || camera.retiredAt !== undefined) return undefined;
  const holding = access.openIncidents.filter((incident) => incident.cameras.includes(camera.code));
  if (viewer.role === 'admin') return holding.length > 0 ? { via: 'incident', incidentId: holding[0]!.id } : { via: 'scope' };
  if (viewer.role === 'supervisor') return expectedInScope(viewer, camera) ? { via: 'scope' } : undefined;
  if (viewer.role === 'investigator') {
    for (const grant of access.grants) {
      const live = grant.status === 'active' && grant.endsAt.getTime() > access.now;
      const incident = access.openIncidents.find((open) => open.id === grant.incidentId);
      const covers = incident !== undefined && incident.cameras.includes(camera.code) && (grant.scope === 'all' || (grant.cameras ?? []).includes(camera.code));
      if (live && covers) return { via: 'grant', incidentId: grant.incidentId, grantId: grant.id };
    }
    return undefined;
  }
  const own = expectedInScope(viewer, camera);
  const citizenThroughIncident = camera.area === 'citizen' && viewer.areas.includes('citizen');
  const run = holding.find((incident) => viewer.municipalities.length === 0 || viewer.municipalities.includes(incident.municipality));
  if (run && (own || citizenThroughIncident)) return { via: 'incident', incidentId: run.id };
  if (own) return { via: 'scope' };
  const glass = access.breakGlass.find((view) => view.camera === camera.code && view.until > access.now);
  if (glass && camera.area === 'citizen') return { via: 'break_glass', breakGlassId: glass.id };
  return undefined;
}

/** The filter with its code lists sorted (their order means nothing). */
function normalized(filter: CameraFilter): CameraFilter {
  return {
    ...filter,
    ...(filter.codes && { codes: [...filter.codes].sort() }),
    ...(filter.orCameras && { orCameras: { ...filter.orCameras, codes: [...filter.orCameras.codes].sort() } }),
  };
}

describe('VisibilityPolicy with incidents', () => {
  // Cameras of the hand-written rows.
  const AG_H: IncidentCamera = { code: 'AG-H', area: 'agency', municipality: HOME, status: 'approved' };
  const AG_O: IncidentCamera = { code: 'AG-O', area: 'agency', municipality: OTHER, status: 'approved' };
  const CI_H: IncidentCamera = { code: 'CI-H', area: 'citizen', municipality: HOME, status: 'approved', sharing: 'incident-only' };
  const CI_O: IncidentCamera = { code: 'CI-O', area: 'citizen', municipality: OTHER, status: 'approved', sharing: 'incident-only' };
  const CL_H: IncidentCamera = { code: 'CL-H', area: 'citizen', municipality: HOME, status: 'approved', sharing: 'live' };
  const CI_FREE: IncidentCamera = { code: 'CI-FREE', area: 'citizen', municipality: HOME, status: 'approved', sharing: 'incident-only' };
  const AG_SUSP: IncidentCamera = { code: 'AG-SUSP', area: 'agency', municipality: HOME, status: 'suspended' };
  const CI_RETIRED: IncidentCamera = { code: 'CI-RET', area: 'citizen', municipality: HOME, status: 'approved', sharing: 'incident-only', retiredAt: new Date(0) };

  // Two open incidents; 'inc-z' is closed (not among the open ones).
  const INC_H = { id: 'inc-h', municipality: HOME, cameras: ['AG-H', 'CI-H', 'CI-O', 'AG-SUSP', 'CI-RET'] };
  const INC_O = { id: 'inc-o', municipality: OTHER, cameras: ['AG-O', 'CI-O', 'AG-H'] };
  const open = [INC_H, INC_O];

  const grant = (id: string, incidentId: string, more: Partial<Grant> = {}): Grant => ({ id, incidentId, scope: 'all', status: 'active', endsAt: new Date(NOW + HOUR), ...more });
  const G_ALL_H = grant('g-all-h', 'inc-h');
  const G_ALL_O = grant('g-all-o', 'inc-o');
  const G_CAMS_O = grant('g-cams-o', 'inc-o', { scope: 'cameras', cameras: ['AG-O', 'CI-H'] });
  const G_ENDS_NOW = grant('g-ends-now', 'inc-o', { endsAt: new Date(NOW) });
  const G_ENDS_SOON = grant('g-ends-soon', 'inc-o', { endsAt: new Date(NOW + 1) });
  const G_REVOKED = grant('g-revoked', 'inc-o', { status: 'revoked' });
  const G_EXPIRED = grant('g-expired', 'inc-o', { status: 'expired', endsAt: new Date(NOW - HOUR) });
  const G_ENDED = grant('g-ended', 'inc-o', { status: 'ended' });
  const G_CLOSED = grant('g-closed', 'inc-z');

  const access = (more: Partial<IncidentAccess> = {}): IncidentAccess => ({ openIncidents: open, grants: [], breakGlass: [], now: NOW, ...more });
  const investigator = (grants: Grant[]): { viewer: Viewer; access: IncidentAccess } => ({ viewer: { role: 'investigator', areas: ['agency', 'citizen'], municipalities: [] }, access: access({ grants }) });
  const operator = (areas: CameraArea[], municipalities: string[], more: Partial<IncidentAccess> = {}) => ({ viewer: { role: 'operator' as const, areas, municipalities }, access: access(more) });

  const incident = (incidentId: string): Allowance => ({ via: 'incident', incidentId });
  const byGrant = (g: Grant): Allowance => ({ via: 'grant', incidentId: g.incidentId, grantId: g.id });
  const SCOPE: Allowance = { via: 'scope' };

  const rows: Array<{ name: string; viewer: Viewer; access: IncidentAccess; camera: IncidentCamera; allowance: Allowance | undefined }> = [
    // Investigators: only live grants.
    { name: 'investigator with every area, no grant: nothing', ...investigator([]), camera: AG_H, allowance: undefined },
    { name: 'investigator, no grant, a live citizen camera: nothing', ...investigator([]), camera: CL_H, allowance: undefined },
    { name: "all-cameras grant on H: H's agency camera", ...investigator([G_ALL_H]), camera: AG_H, allowance: byGrant(G_ALL_H) },
    { name: "all-cameras grant on H: H's incident-only citizen camera", ...investigator([G_ALL_H]), camera: CI_H, allowance: byGrant(G_ALL_H) },
    { name: 'all-cameras grant on H: a citizen camera of another municipality attached to H', ...investigator([G_ALL_H]), camera: CI_O, allowance: byGrant(G_ALL_H) },
    { name: "all-cameras grant on H: O's camera", ...investigator([G_ALL_H]), camera: AG_O, allowance: undefined },
    { name: 'all-cameras grant on H: a camera in no incident', ...investigator([G_ALL_H]), camera: CI_FREE, allowance: undefined },
    { name: 'all-cameras grant on H: a suspended attached camera', ...investigator([G_ALL_H]), camera: AG_SUSP, allowance: undefined },
    { name: 'all-cameras grant on H: a retired attached camera', ...investigator([G_ALL_H]), camera: CI_RETIRED, allowance: undefined },
    { name: 'cameras grant on O (AG-O, CI-H): AG-O', ...investigator([G_CAMS_O]), camera: AG_O, allowance: byGrant(G_CAMS_O) },
    { name: 'cameras grant on O: CI-O, attached to O but not granted', ...investigator([G_CAMS_O]), camera: CI_O, allowance: undefined },
    { name: 'cameras grant on O: CI-H, granted but not attached to O (detached)', ...investigator([G_CAMS_O]), camera: CI_H, allowance: undefined },
    { name: 'grant ending exactly now', ...investigator([G_ENDS_NOW]), camera: AG_O, allowance: undefined },
    { name: 'grant ending a millisecond from now', ...investigator([G_ENDS_SOON]), camera: AG_O, allowance: byGrant(G_ENDS_SOON) },
    { name: 'revoked grant (end time still ahead)', ...investigator([G_REVOKED]), camera: AG_O, allowance: undefined },
    { name: 'expired grant', ...investigator([G_EXPIRED]), camera: AG_O, allowance: undefined },
    { name: 'grant ended by the incident closing (status ended)', ...investigator([G_ENDED]), camera: AG_O, allowance: undefined },
    { name: 'active grant on a closed incident (not open)', ...investigator([G_CLOSED]), camera: AG_O, allowance: undefined },
    { name: 'a revoked grant first, then a live one: the live one allows', ...investigator([G_REVOKED, G_ALL_O]), camera: AG_O, allowance: byGrant(G_ALL_O) },
    { name: 'two live grants on the same camera: the first is named', ...investigator([G_ALL_H, G_ALL_O]), camera: AG_H, allowance: byGrant(G_ALL_H) },
    { name: 'two grants on the same camera, the first ended: the other still allows', ...investigator([G_ENDED, G_ALL_H]), camera: AG_H, allowance: byGrant(G_ALL_H) },
    { name: 'investigator with a break-glass view: nothing', viewer: { role: 'investigator', areas: ['citizen'], municipalities: [] }, access: access({ breakGlass: [{ id: 'bg', camera: 'CI-FREE', until: NOW + HOUR }] }), camera: CI_FREE, allowance: undefined },

    // Operators running incidents by municipality.
    { name: 'operator of HOME, both areas: own camera attached to H (the incident is named)', ...operator(['agency', 'citizen'], [HOME]), camera: AG_H, allowance: incident('inc-h') },
    { name: "operator of HOME, both areas: H's incident-only citizen camera", ...operator(['agency', 'citizen'], [HOME]), camera: CI_H, allowance: incident('inc-h') },
    { name: "operator of HOME, both areas: H's citizen camera of another municipality", ...operator(['agency', 'citizen'], [HOME]), camera: CI_O, allowance: incident('inc-h') },
    { name: "operator of HOME, both areas: O's agency camera (not theirs, not citizen)", ...operator(['agency', 'citizen'], [HOME]), camera: AG_O, allowance: undefined },
    { name: 'operator of HOME, both areas: a live citizen camera in no incident', ...operator(['agency', 'citizen'], [HOME]), camera: CL_H, allowance: SCOPE },
    { name: 'operator of HOME, both areas: an incident-only citizen camera in no incident', ...operator(['agency', 'citizen'], [HOME]), camera: CI_FREE, allowance: undefined },
    { name: 'operator of HOME, both areas: a suspended attached camera', ...operator(['agency', 'citizen'], [HOME]), camera: AG_SUSP, allowance: undefined },
    { name: 'operator of HOME, both areas: a retired attached citizen camera', ...operator(['agency', 'citizen'], [HOME]), camera: CI_RETIRED, allowance: undefined },
    { name: "operator of HOME without the citizen area: H's agency camera", ...operator(['agency'], [HOME]), camera: AG_H, allowance: incident('inc-h') },
    { name: "operator of HOME without the citizen area: H's citizen camera", ...operator(['agency'], [HOME]), camera: CI_H, allowance: undefined },
    { name: "operator of OTHER, both areas: O's agency camera", ...operator(['agency', 'citizen'], [OTHER]), camera: AG_O, allowance: incident('inc-o') },
    { name: "operator of OTHER, both areas: O's citizen camera (H does not count, not theirs)", ...operator(['agency', 'citizen'], [OTHER]), camera: CI_O, allowance: incident('inc-o') },
    { name: "operator of OTHER, both areas: HOME's agency camera attached to O (not their scope, not citizen)", ...operator(['agency', 'citizen'], [OTHER]), camera: AG_H, allowance: undefined },
    { name: "operator of OTHER, both areas: H's citizen camera (H is not theirs)", ...operator(['agency', 'citizen'], [OTHER]), camera: CI_H, allowance: undefined },
    { name: "operator of every municipality, citizen only: H's citizen camera", ...operator(['citizen'], []), camera: CI_H, allowance: incident('inc-h') },
    { name: 'operator of every municipality, citizen only: a citizen camera of H and O (the first open incident)', ...operator(['citizen'], []), camera: CI_O, allowance: incident('inc-h') },
    { name: 'operator of every municipality, citizen only: an agency camera of H', ...operator(['citizen'], []), camera: AG_H, allowance: undefined },
    { name: 'operator of HOME, both areas, no open incident: own camera by scope', viewer: { role: 'operator', areas: ['agency', 'citizen'], municipalities: [HOME] }, access: { ...NO_INCIDENT_ACCESS, now: NOW }, camera: AG_H, allowance: SCOPE },
    { name: 'operator of HOME, both areas, no open incident: incident-only citizen camera', viewer: { role: 'operator', areas: ['agency', 'citizen'], municipalities: [HOME] }, access: { ...NO_INCIDENT_ACCESS, now: NOW }, camera: CI_H, allowance: undefined },
    { name: 'operator with grants (ignored: grants are for investigators)', ...operator(['agency'], [HOME], { grants: [G_ALL_O] }), camera: AG_O, allowance: undefined },

    // Break-glass.
    { name: 'operator, live break-glass view of CI-FREE', ...operator(['agency', 'citizen'], [HOME], { breakGlass: [{ id: 'bg', camera: 'CI-FREE', until: NOW + 1 }] }), camera: CI_FREE, allowance: { via: 'break_glass', breakGlassId: 'bg' } },
    { name: 'operator, break-glass view ending exactly now', ...operator(['agency', 'citizen'], [HOME], { breakGlass: [{ id: 'bg', camera: 'CI-FREE', until: NOW }] }), camera: CI_FREE, allowance: undefined },
    { name: 'operator, break-glass view ended', ...operator(['agency', 'citizen'], [HOME], { breakGlass: [{ id: 'bg', camera: 'CI-FREE', until: NOW - HOUR }] }), camera: CI_FREE, allowance: undefined },
    { name: 'operator, break-glass view of another camera', ...operator(['agency', 'citizen'], [HOME], { breakGlass: [{ id: 'bg', camera: 'CI-H', until: NOW + HOUR }] }), camera: CI_FREE, allowance: undefined },
    { name: 'operator, break-glass view of a suspended camera', ...operator(['agency', 'citizen'], [HOME], { breakGlass: [{ id: 'bg', camera: 'AG-SUSP', until: NOW + HOUR }] }), camera: AG_SUSP, allowance: undefined },
    { name: 'operator, break-glass view of an agency camera (break-glass is for citizen cameras)', ...operator(['citizen'], [HOME], { breakGlass: [{ id: 'bg', camera: 'AG-O', until: NOW + HOUR }] }), camera: AG_O, allowance: undefined },
    { name: 'operator, break-glass view of a camera an incident of theirs shows: the incident is named', ...operator(['agency', 'citizen'], [HOME], { breakGlass: [{ id: 'bg', camera: 'CI-H', until: NOW + HOUR }] }), camera: CI_H, allowance: incident('inc-h') },
    { name: 'supervisor with a break-glass view: nothing', viewer: { role: 'supervisor', areas: ['citizen'], municipalities: [HOME] }, access: access({ breakGlass: [{ id: 'bg', camera: 'CI-FREE', until: NOW + HOUR }] }), camera: CI_FREE, allowance: undefined },

    // Supervisors and admins.
    { name: 'supervisor of HOME, both areas: own camera attached to H (no incident named)', viewer: { role: 'supervisor', areas: ['agency', 'citizen'], municipalities: [HOME] }, access: access(), camera: AG_H, allowance: SCOPE },
    { name: "supervisor of HOME, both areas: H's incident-only citizen camera", viewer: { role: 'supervisor', areas: ['agency', 'citizen'], municipalities: [HOME] }, access: access(), camera: CI_H, allowance: undefined },
    { name: 'admin: a camera of H and O (the first open incident is named)', viewer: { role: 'admin', areas: [], municipalities: [] }, access: access(), camera: AG_H, allowance: incident('inc-h') },
    { name: "admin: O's camera", viewer: { role: 'admin', areas: [], municipalities: [OTHER] }, access: access(), camera: AG_O, allowance: incident('inc-o') },
    { name: 'admin: a camera in no incident', viewer: { role: 'admin', areas: [], municipalities: [] }, access: access(), camera: CI_FREE, allowance: SCOPE },
    { name: 'admin: a suspended attached camera', viewer: { role: 'admin', areas: [], municipalities: [] }, access: access(), camera: AG_SUSP, allowance: undefined },
  ];

  describe('allowance and canView: hand-written rows', () => {
    for (const row of rows) {
      it(`${row.name} -> ${row.allowance ? JSON.stringify(row.allowance) : 'no'}`, () => {
        expect(VisibilityPolicy.allowance(row.viewer, row.camera, row.access)).to.deep.equal(row.allowance);
        expect(VisibilityPolicy.canView(row.viewer, row.camera, row.access)).to.equal(row.allowance !== undefined);
        expect(expectedAllowance(row.viewer, row.camera, row.access), 'the restated rule agrees with the row').to.deep.equal(row.allowance);
      });
    }
  });

  describe('scope(viewer, access): hand-written filters', () => {
    const glass = (camera: string, until: number) => ({ id: `bg-${camera}`, camera, until });
    const filters: Array<{ name: string; viewer: Viewer; access: IncidentAccess; filter: CameraFilter }> = [
      { name: 'investigator, no grant', ...investigator([]), filter: { codes: [] } },
      { name: "investigator, all-cameras grant on H: H's cameras (approval is the caller's)", ...investigator([G_ALL_H]), filter: { codes: ['AG-H', 'CI-H', 'CI-O', 'AG-SUSP', 'CI-RET'] } },
      { name: 'investigator, cameras grant on O: the granted ones still attached', ...investigator([G_CAMS_O]), filter: { codes: ['AG-O'] } },
      { name: 'investigator, dead grants only', ...investigator([G_ENDS_NOW, G_REVOKED, G_EXPIRED, G_ENDED, G_CLOSED]), filter: { codes: [] } },
      { name: 'investigator, overlapping live grants: each code once', ...investigator([G_ALL_O, G_CAMS_O, G_REVOKED]), filter: { codes: ['AG-O', 'CI-O', 'AG-H'] } },
      {
        name: "operator of HOME, both areas: own scope OR H's cameras that are citizen ones",
        ...operator(['agency', 'citizen'], [HOME]),
        filter: { areas: ['agency', 'citizen'], municipalities: [HOME], citizenSharing: 'live', orCameras: { codes: ['AG-H', 'CI-H', 'CI-O', 'AG-SUSP', 'CI-RET'], area: 'citizen' } },
      },
      { name: 'operator of HOME without the citizen area: own scope only', ...operator(['agency'], [HOME]), filter: { areas: ['agency'], municipalities: [HOME], citizenSharing: 'live' } },
      {
        name: 'operator of OTHER, citizen area: O only',
        ...operator(['citizen'], [OTHER]),
        filter: { areas: ['citizen'], municipalities: [OTHER], citizenSharing: 'live', orCameras: { codes: ['AG-O', 'CI-O', 'AG-H'], area: 'citizen' } },
      },
      {
        name: 'operator of every municipality, citizen area: H and O',
        ...operator(['citizen'], []),
        filter: { areas: ['citizen'], citizenSharing: 'live', orCameras: { codes: ['AG-H', 'CI-H', 'CI-O', 'AG-SUSP', 'CI-RET', 'AG-O'], area: 'citizen' } },
      },
      {
        name: 'operator of a municipality with no incident, live and ended break-glass views',
        ...operator(['agency'], ['Apodaca'], { breakGlass: [glass('CI-FREE', NOW + HOUR), glass('CI-H', NOW)] }),
        filter: { areas: ['agency'], municipalities: ['Apodaca'], citizenSharing: 'live', orCameras: { codes: ['CI-FREE'], area: 'citizen' } },
      },
      { name: 'operator with an ended break-glass view only', ...operator(['agency'], ['Apodaca'], { breakGlass: [glass('CI-FREE', NOW - 1)] }), filter: { areas: ['agency'], municipalities: ['Apodaca'], citizenSharing: 'live' } },
      {
        name: 'supervisor: incidents and break-glass add nothing',
        viewer: { role: 'supervisor', areas: ['citizen'], municipalities: [] },
        access: access({ breakGlass: [glass('CI-FREE', NOW + HOUR)], grants: [G_ALL_H] }),
        filter: { areas: ['citizen'], citizenSharing: 'live' },
      },
      { name: 'admin', viewer: { role: 'admin', areas: [], municipalities: [] }, access: access({ grants: [G_ALL_H] }), filter: {} },
    ];
    for (const row of filters) {
      it(row.name, () => expect(normalized(VisibilityPolicy.scope(row.viewer, row.access))).to.deep.equal(normalized(row.filter)));
    }
  });

  it('runsIncident: admins every incident, operators those of their municipalities (none listed: all), nobody else', () => {
    const rows: Array<[Viewer, string, boolean]> = [
      [{ role: 'admin', areas: [], municipalities: [HOME] }, OTHER, true],
      [{ role: 'operator', areas: [], municipalities: [] }, OTHER, true],
      [{ role: 'operator', areas: ['agency'], municipalities: [HOME] }, HOME, true],
      [{ role: 'operator', areas: ['agency'], municipalities: [HOME] }, OTHER, false],
      [{ role: 'operator', areas: ['agency'], municipalities: [HOME, 'Apodaca'] }, 'Apodaca', true],
      [{ role: 'supervisor', areas: ['agency'], municipalities: [] }, HOME, false],
      [{ role: 'investigator', areas: ['agency'], municipalities: [] }, HOME, false],
    ];
    for (const [viewer, municipality, runs] of rows) {
      expect(VisibilityPolicy.runsIncident(viewer, { municipality }), `${viewer.role} [${viewer.municipalities.join(', ')}] / ${municipality}`).to.equal(runs);
    }
  });

  it('announcedTo (alarms, issue 22): at level 0 operators covering the area and municipality; re-announced, every operator and admin; never supervisors or investigators', () => {
    const rows: Array<[Viewer, { area: CameraArea; municipality: string; announceLevel: number }, boolean]> = [
      [{ role: 'operator', areas: ['citizen'], municipalities: [HOME] }, { area: 'citizen', municipality: HOME, announceLevel: 0 }, true],
      [{ role: 'operator', areas: ['citizen'], municipalities: [] }, { area: 'citizen', municipality: OTHER, announceLevel: 0 }, true],
      [{ role: 'operator', areas: ['agency'], municipalities: [HOME] }, { area: 'citizen', municipality: HOME, announceLevel: 0 }, false],
      [{ role: 'operator', areas: ['agency', 'citizen'], municipalities: [HOME] }, { area: 'citizen', municipality: OTHER, announceLevel: 0 }, false],
      [{ role: 'operator', areas: [], municipalities: [] }, { area: 'agency', municipality: HOME, announceLevel: 0 }, false],
      [{ role: 'admin', areas: ['agency', 'citizen'], municipalities: [] }, { area: 'agency', municipality: HOME, announceLevel: 0 }, false],
      [{ role: 'operator', areas: ['agency'], municipalities: [HOME] }, { area: 'citizen', municipality: OTHER, announceLevel: 1 }, true],
      [{ role: 'admin', areas: [], municipalities: [] }, { area: 'citizen', municipality: OTHER, announceLevel: 1 }, true],
      [{ role: 'admin', areas: [], municipalities: [] }, { area: 'citizen', municipality: OTHER, announceLevel: 3 }, true],
      [{ role: 'supervisor', areas: ['agency', 'citizen'], municipalities: [] }, { area: 'agency', municipality: HOME, announceLevel: 0 }, false],
      [{ role: 'supervisor', areas: ['agency', 'citizen'], municipalities: [] }, { area: 'agency', municipality: HOME, announceLevel: 2 }, false],
      [{ role: 'investigator', areas: ['agency', 'citizen'], municipalities: [] }, { area: 'agency', municipality: HOME, announceLevel: 2 }, false],
    ];
    for (const [viewer, alarm, announced] of rows) {
      expect(VisibilityPolicy.announcedTo(viewer, alarm), `${viewer.role} [${viewer.areas.join(', ')}] [${viewer.municipalities.join(', ')}] / ${JSON.stringify(alarm)}`).to.equal(announced);
    }
  });

  describe('over the grid: every role × areas × municipalities × camera, under several incident situations', () => {
    // The grid's cameras (CAM-1..CAM-100) with incidents, grants and break-glass views picked by number.
    const grid = cameras();
    const codes = (pick: (n: number) => boolean) => grid.map(({ camera }) => camera.code).filter((code) => pick(Number(code.slice(4))));
    const situations: Array<{ label: string; access: IncidentAccess }> = [
      { label: 'no incident', access: { ...NO_INCIDENT_ACCESS, now: NOW } },
      {
        label: 'incidents of both municipalities, grants in every state, break-glass views live and ended',
        access: {
          openIncidents: [
            { id: 'inc-home', municipality: HOME, cameras: codes((n) => n % 3 === 0) },
            { id: 'inc-other', municipality: OTHER, cameras: codes((n) => n % 4 === 0) },
          ],
          grants: [
            { id: 'g1', incidentId: 'inc-other', scope: 'cameras', cameras: codes((n) => n % 5 === 0), status: 'active', endsAt: new Date(NOW + HOUR) },
            { id: 'g2', incidentId: 'inc-home', scope: 'all', status: 'revoked', endsAt: new Date(NOW + HOUR) },
            { id: 'g3', incidentId: 'inc-home', scope: 'all', status: 'active', endsAt: new Date(NOW) },
            { id: 'g4', incidentId: 'inc-closed', scope: 'all', status: 'active', endsAt: new Date(NOW + HOUR) },
            { id: 'g5', incidentId: 'inc-home', scope: 'cameras', cameras: codes((n) => n % 2 === 0), status: 'active', endsAt: new Date(NOW + 1) },
          ],
          breakGlass: [
            ...codes((n) => n % 7 === 5).map((camera) => ({ id: `bg-${camera}`, camera, until: NOW + HOUR })),
            ...codes((n) => n % 11 === 0).map((camera) => ({ id: `old-${camera}`, camera, until: NOW })),
          ],
          now: NOW,
        },
      },
      {
        label: 'one all-cameras grant on an incident of another municipality',
        access: {
          openIncidents: [{ id: 'inc-other', municipality: OTHER, cameras: codes((n) => n % 2 === 1) }],
          grants: [{ id: 'g', incidentId: 'inc-other', scope: 'all', status: 'active', endsAt: new Date(NOW + HOUR) }],
          breakGlass: [],
          now: NOW,
        },
      },
    ];

    for (const { label, access } of situations) {
      it(`${label}: allowance follows the rule; scope() selects exactly what allowance allows`, () => {
        let checked = 0;
        for (const { label: viewerLabel, viewer } of viewers()) {
          const filter = VisibilityPolicy.scope(viewer, access);
          for (const { label: cameraLabel, camera } of grid) {
            const expected = expectedAllowance(viewer, camera, access);
            expect(VisibilityPolicy.allowance(viewer, camera, access), `${viewerLabel} / ${cameraLabel} (${camera.code})`).to.deep.equal(expected);
            const { retiredAt: _retiredAt, ...current } = camera;
            const approved = { ...current, status: 'approved' as const };
            expect(filterMatches(filter, approved), `scope of ${viewerLabel} / ${cameraLabel} (${camera.code}), approved`).to.equal(expectedAllowance(viewer, approved, access) !== undefined);
            checked++;
          }
        }
        expect(checked).to.equal(viewers().length * grid.length);
      });
    }
  });
});
