import type { IngestSource } from '../../workers/Ingest.ts';
import type { CameraArea } from '../catalog/CameraRecord.ts';

/** A camera as the live pipeline needs it: what the ingest pulls, plus how its session behaves. */
export interface CameraSource extends IngestSource {
  name: string;
  /** Kept live with no viewer. */
  alwaysOn: boolean;
  area: CameraArea;
}

/** Where camera sessions look cameras up (the catalog, through CameraCatalog.asDirectory()). */
export interface CameraDirectory {
  get(code: string): Promise<CameraSource | undefined>;
  list(): Promise<CameraSource[]>;
}
