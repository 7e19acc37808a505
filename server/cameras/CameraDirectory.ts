import type { IngestSource } from '../../workers/Ingest.ts';
import type { CameraArea, StreamSizes } from '../catalog/CameraRecord.ts';

/**
 * A camera's live streams: 'main' (its main URL), 'sub' (its substream URL, when it has one) and
 * 'low' (the server's shared low-tier transcode of the main stream).
 */
export type CameraStreamName = 'main' | 'sub' | 'low';

/** A camera as the live pipeline needs it: what the ingest pulls, plus how its session behaves. */
export interface CameraSource extends IngestSource {
  name: string;
  /** Kept live with no viewer. */
  alwaysOn: boolean;
  area: CameraArea;
  /**
   * The substream's URL and credentials (same rules as the main URL's), when the camera has one;
   * `pinned` as the main stream's IngestSource.pinned, for the substream URL's own host.
   */
  substream?: { url: string; username?: string; password?: string; pinned?: { address: string } };
  /** Resolutions learned when the streams last ran. */
  streamSizes?: StreamSizes;
}

/** Where camera sessions look cameras up (the catalog, through CameraCatalog.asDirectory()). */
export interface CameraDirectory {
  get(code: string): Promise<CameraSource | undefined>;
  list(): Promise<CameraSource[]>;
}

/** The key of a stream's session: the camera's code for its main stream, `code~sub` / `code~low` for the others. */
export function streamKey(cameraId: string, stream: CameraStreamName): string {
  return stream === 'main' ? cameraId : `${cameraId}~${stream}`;
}

/** The camera and stream of a session key (camera codes never contain '~'). */
export function parseStreamKey(key: string): { cameraId: string; stream: CameraStreamName } {
  const at = key.lastIndexOf('~');
  if (at < 0) return { cameraId: key, stream: 'main' };
  const stream = key.slice(at + 1);
  return { cameraId: key.slice(0, at), stream: stream === 'sub' || stream === 'low' ? stream : 'main' };
}
