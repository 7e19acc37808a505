import type { Ingest, IngestSource } from './Ingest.ts';
import { AutoIngest } from './AutoIngest.ts';
import { FfmpegIngest } from './FfmpegIngest.ts';
import { RelayIngest } from './RelayIngest.ts';

/** How cameras reach mediasoup: the engines' settings (from the server's `ingest` config). */
export interface EngineSettings {
  /** The engine of a camera whose record names none. */
  engine: 'auto' | 'relay' | 'ffmpeg';
  ffmpegPath: string;
  highProfile: 'transcode' | 'relabel';
  /** kbit/s. */
  transcodeKbps: number;
  /** Our RTSP client's connect and answer timeout (ms). */
  rtspTimeoutMs: number;
  /** ms. */
  stallTimeoutMs: number;
  /** The transcoder's codec_mismatch bound (ms); see FfmpegIngest. */
  firstFrameTimeoutMs: number;
  /** The relay's batched sending through the udp_batch addon (config ingest.relayNative); default true. */
  relayNative?: boolean;
}

export interface EngineHooks {
  /** Each ffmpeg stderr line, credentials removed. */
  onLog?: (line: string) => void;
  /** An ffmpeg process started (its pid) or ended. */
  onChild?: (event: 'spawned' | 'exited', pid: number, command: string) => void;
}

/** The ingest for one camera, by its engine: the relay, the ffmpeg transcoder, or auto (relay first). */
export function createEngineIngest(camera: IngestSource, settings: EngineSettings, hooks: EngineHooks = {}): Ingest {
  const relay = () =>
    new RelayIngest({ camera, timeoutMs: settings.rtspTimeoutMs, stallTimeoutMs: settings.stallTimeoutMs, highProfile: settings.highProfile, nativeSending: settings.relayNative !== false });
  const ffmpeg = (alwaysTranscode: boolean) =>
    new FfmpegIngest({
      camera,
      alwaysTranscode,
      firstFrameTimeoutMs: settings.firstFrameTimeoutMs,
      ffmpegPath: settings.ffmpegPath,
      highProfile: settings.highProfile,
      transcodeKbps: settings.transcodeKbps,
      timeoutMs: settings.rtspTimeoutMs,
      stallTimeoutMs: settings.stallTimeoutMs,
      ...(hooks.onChild && {
        ledger: { add: (pid: number, command: string) => hooks.onChild!('spawned', pid, command), remove: (pid: number) => hooks.onChild!('exited', pid, '') },
      }),
      ...(hooks.onLog && { onLog: hooks.onLog }),
    });
  const engine = camera.engine ?? settings.engine;
  if (engine === 'ffmpeg') return ffmpeg(false);
  if (engine === 'relay') return relay();
  return new AutoIngest(relay(), ffmpeg(true));
}
