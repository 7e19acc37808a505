import type { CameraArea, CameraFilter, CameraRecord } from '../catalog/CameraRecord.ts';
import type { Role } from './Identity.ts';

/** Who is asking, as far as camera visibility goes. */
export interface Viewer {
  role: Role;
  areas: readonly CameraArea[];
  municipalities: readonly string[];
}

type VisibleFields = Pick<CameraRecord, 'area' | 'municipality' | 'sharing' | 'status' | 'retiredAt'>;

/**
 * The one place that decides who may see which camera:
 * - nobody watches a camera that is not approved, or is retired;
 * - admin sees every camera;
 * - operators and supervisors see a camera when its area is one of theirs AND (their municipality
 *   list is empty OR contains the camera's) AND, for a citizen camera, its sharing is `live`;
 * - investigators see no camera through this policy.
 */
export class VisibilityPolicy {
  static canView(viewer: Viewer, camera: VisibleFields): boolean {
    if (camera.status !== 'approved' || camera.retiredAt) return false;
    return VisibilityPolicy.inScope(viewer, camera);
  }

  /** The same rule without the approval condition (admins listing the catalog see every status). */
  static inScope(viewer: Viewer, camera: Pick<CameraRecord, 'area' | 'municipality' | 'sharing'>): boolean {
    switch (viewer.role) {
      case 'admin':
        return true;
      case 'investigator':
        return false;
      case 'operator':
      case 'supervisor':
        return (
          viewer.areas.includes(camera.area) &&
          (viewer.municipalities.length === 0 || viewer.municipalities.includes(camera.municipality)) &&
          (camera.area !== 'citizen' || camera.sharing === 'live')
        );
    }
  }

  /** The catalog filter selecting exactly the cameras `inScope` allows. */
  static scope(viewer: Viewer): CameraFilter {
    switch (viewer.role) {
      case 'admin':
        return {};
      case 'investigator':
        return { codes: [] };
      case 'operator':
      case 'supervisor':
        return {
          areas: [...viewer.areas],
          ...(viewer.municipalities.length > 0 && { municipalities: [...viewer.municipalities] }),
          citizenSharing: 'live',
        };
    }
  }

  static canAdminister(viewer: Pick<Viewer, 'role'>): boolean {
    return viewer.role === 'admin';
  }
}
