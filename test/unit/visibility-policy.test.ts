import { expect } from 'chai';
import { VisibilityPolicy, type Viewer } from '../../server/auth/VisibilityPolicy.ts';
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

/** CameraFilter semantics as its field comments describe them (the fields scope() may set). */
function filterMatches(filter: CameraFilter, camera: Camera & { code: string }): boolean {
  const known = new Set(['areas', 'municipalities', 'citizenSharing', 'codes']);
  for (const key of Object.keys(filter)) expect(known.has(key), `unexpected filter field ${key}`).to.equal(true);
  if (filter.codes && !filter.codes.includes(camera.code)) return false;
  if (filter.areas && !filter.areas.includes(camera.area)) return false;
  if (filter.municipalities && !filter.municipalities.includes(camera.municipality)) return false;
  if (filter.citizenSharing && camera.area === 'citizen' && camera.sharing !== filter.citizenSharing) return false;
  return true;
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
