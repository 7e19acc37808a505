import type { IngestDescription, IngestProgress } from '../../workers/Ingest.ts';
import type { IngestFailureReason } from '../../workers/IngestError.ts';

/** A camera session's state (see CameraSession for the transitions). */
export const cameraStates = ['idle', 'starting', 'live', 'backoff', 'closing', 'closed'] as const;
export type CameraState = (typeof cameraStates)[number];

/** What the layers above (signalling, console, metrics) learn about a camera. No secrets. */
export interface CameraStatus {
  /** The camera's code; for a substream or low tier, its session key (`code~sub`, `code~low`). */
  cameraId: string;
  /** Set for a camera's substream or low tier (absent: its main stream). */
  stream?: 'sub' | 'low';
  state: CameraState;
  since: number;
  viewers: number;
  /** Why the last run ended (kept while starting again); 'withdrawn': the catalog no longer allows viewing it. */
  reason?: IngestFailureReason | 'withdrawn' | 'changed';
  message?: string;
  retryInMs?: number;
  transcodeReason?: IngestDescription['transcodeReason'];
  /** How the camera reaches mediasoup in the current run: the packet relay or ffmpeg. */
  engine?: IngestDescription['engine'];
  progress?: IngestProgress;
  /** When the ingest last reported a new frame (epoch ms). */
  lastFrameAt?: number;
  /** Ingest restarts after a failure since the session began. */
  restarts: number;
}
