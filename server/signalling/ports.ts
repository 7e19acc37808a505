import type { CameraStatus } from '../cameras/CameraStatus.ts';
import type { CameraLease } from '../cameras/CameraManager.ts';
import type { Viewer } from '../auth/VisibilityPolicy.ts';
import type { TypedEmitter } from '../../workers/common/TypedEmitter.ts';
import type { CameraHealth, CameraPage, RequestPayload } from './protocol.ts';

/**
 * What signalling needs from the live pipeline, declared here so that signalling imports no
 * mediasoup: mediasoup structures pass through as opaque objects and are validated by mediasoup.
 */
export interface ViewerMediaPort
  extends Pick<TypedEmitter<{ consumerclosed: [{ consumerId: string; cameraId: string }]; transportclosed: [{ transportId: string }] }>, 'on'> {
  readonly rtpCapabilities: object;
  readonly usable: boolean;
  createTransport(options: { tcpOnly?: boolean }): Promise<{ id: string } & object>;
  connectTransport(dtlsParameters: object): Promise<void>;
  consume(feed: NonNullable<CameraLease['feed']>, rtpCapabilities: object): Promise<{ id: string; producerId: string; kind: string; rtpParameters: object; cameraId: string }>;
  pause(consumerId: string): Promise<void>;
  resume(consumerId: string): Promise<void>;
  closeConsumer(consumerId: string): void;
  close(): void;
}

export interface LiveViewing {
  /** The signed-in user's current rights (AppError unauthenticated when disabled or gone). */
  currentViewer(userId: string): Viewer;
  /** Throws forbidden / not_found unless `viewer` may watch the camera now. */
  authorize(viewer: Viewer, cameraId: string): Promise<void>;
  readonly rtpCapabilities: object;
  openViewer(): ViewerMediaPort;
  acquire(cameraId: string): Promise<CameraLease>;
  listCameras(query: RequestPayload<'listCameras'>, viewer: Viewer): Promise<CameraPage>;
  onCameraState(listener: (status: CameraStatus) => void): () => void;
  /** Audit: a user started watching a camera; returns the view's id for viewStopped. */
  viewStarted(view: { userId: string; cameraId: string; ip?: string }): string;
  viewStopped(viewId: string, reason: string, forced?: boolean): void;
  /** Metrics: one answered request (errorCode when it failed), and a console's time-to-first-frame report. */
  observeRequest?(name: string, errorCode?: string): void;
  observeFirstFrame?(ms: number): void;
  onCameraHealth(listener: (event: { cameraId: string; health: CameraHealth }) => void): () => void;
}
