import { spawnOwned, stopChild } from './spawnOwned.ts';
import { IngestError } from './IngestError.ts';
import { classifyFfmpegError } from './classifyFfmpegError.ts';
import { parseFfprobeHexdump, profileLevelIdFromExtradata, profileLevelIdFromName } from './h264.ts';
import { redact } from './common/redact.ts';
import type { RtspTransport } from './common/RtspTransport.ts';

export interface CameraStreamInfo {
  codec: string;
  profile?: string;
  profileLevelId?: string;
  width?: number;
  height?: number;
  fps?: number;
  pixFmt?: string;
  hasBFrames: boolean;
}

export interface ProbeOptions {
  ffprobePath: string;
  url: string;
  transport: RtspTransport;
  timeoutMs: number;
  secrets: string[];
  /** Receives every stderr line, credentials removed. */
  onLog?: (line: string) => void;
}

interface FfprobeStream {
  codec_name?: string;
  profile?: string;
  level?: number;
  width?: number;
  height?: number;
  pix_fmt?: string;
  has_b_frames?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  extradata?: string;
}

/** Asks ffprobe what the camera's first video stream is (codec, profile with its SPS bytes, B-frames). */
export async function probeCamera(options: ProbeOptions): Promise<CameraStreamInfo> {
  const args = [
    '-hide_banner', '-v', 'error',
    '-rtsp_transport', options.transport,
    '-timeout', String(Math.round(options.timeoutMs * 1000)),
    '-analyzeduration', '500000', '-probesize', '200000',
    '-show_streams', '-show_data', '-select_streams', 'v:0', '-of', 'json',
    options.url,
  ];
  const child = spawnOwned(options.ffprobePath, args);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void stopChild(child, 500);
  }, options.timeoutMs + 2000);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (error) => reject(new IngestError('spawn_failed', `ffprobe: ${error.message}`)));
    child.once('close', (exitCode) => resolve(exitCode));
  }).finally(() => clearTimeout(timer));
  const lines = redact(stderr.trim(), options.secrets).split('\n').filter(Boolean);
  if (code !== 0) for (const line of lines) options.onLog?.(line);
  const lastLine = lines.at(-1) ?? '';
  if (timedOut) throw new IngestError('timeout', `probe timed out after ${options.timeoutMs} ms`);
  if (code !== 0) {
    throw new IngestError(classifyFfmpegError(stderr) ?? 'unreachable', lastLine || `ffprobe exited with ${code}`);
  }
  let stream: FfprobeStream | undefined;
  try {
    stream = (JSON.parse(stdout) as { streams?: FfprobeStream[] }).streams?.[0];
  } catch {
    throw new IngestError('unsupported_codec', 'ffprobe returned no readable stream description');
  }
  if (!stream?.codec_name) throw new IngestError('unsupported_codec', 'the camera offers no video stream');
  const info: CameraStreamInfo = {
    codec: stream.codec_name,
    hasBFrames: (stream.has_b_frames ?? 0) > 0,
    ...(stream.profile !== undefined && { profile: stream.profile }),
    ...(stream.width !== undefined && { width: stream.width }),
    ...(stream.height !== undefined && { height: stream.height }),
    ...(stream.pix_fmt !== undefined && { pixFmt: stream.pix_fmt }),
  };
  const fps = parseRate(stream.avg_frame_rate) ?? parseRate(stream.r_frame_rate);
  if (fps !== undefined) info.fps = fps;
  if (info.codec === 'h264') {
    const fromSps = stream.extradata ? profileLevelIdFromExtradata(parseFfprobeHexdump(stream.extradata)) : undefined;
    info.profileLevelId = fromSps ?? profileLevelIdFromName(stream.profile, stream.level);
  }
  return info;
}

function parseRate(rate: string | undefined): number | undefined {
  const [num, den] = (rate ?? '').split('/').map(Number);
  if (!num || !den) return undefined;
  const fps = num / den;
  return fps > 0 && fps <= 240 ? fps : undefined;
}
