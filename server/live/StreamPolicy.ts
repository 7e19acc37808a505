import type { PictureSize } from '../catalog/CameraRecord.ts';
import type { CameraStreamName } from '../cameras/CameraDirectory.ts';

/** A tile's displayed size in device pixels, and whether it fills the screen (or is maximised). */
export interface TileArea {
  width: number;
  height: number;
  fullscreen?: boolean;
}

/** What a camera offers a tile (sizes in px, when known). */
export interface StreamOffer {
  hasSub: boolean;
  main?: PictureSize;
  sub?: PictureSize;
  /** The low tier can be given: it runs already, or a transcode slot is free (and it is enabled). */
  lowAvailable: boolean;
  /** The low tier's box (px). */
  lowSize: PictureSize;
}

export type ChoiceReason = 'tile_size' | 'fullscreen' | 'requested' | 'bandwidth_cap' | 'default' | 'substream_down';

export interface Choice {
  name: CameraStreamName;
  reason: ChoiceReason;
  width?: number;
  height?: number;
}

/** Until a camera's substream has run once, it is assumed to be this small (the usual camera default). */
export const ASSUMED_SUB_SIZE: PictureSize = { width: 640, height: 360 };

/**
 * A stream is enough for a tile when, shown letterboxed in it (object-fit: contain), it would be
 * scaled up by at most this factor (a 640x360 stream in a 700x394 tile still counts).
 */
const UPSCALE_TOLERANCE = 1.1;

/** Whether `stream`, fitted into the tile keeping its aspect ratio, needs no visible upscaling. */
export function covers(stream: PictureSize, tile: TileArea): boolean {
  const scale = Math.min(tile.width / stream.width, tile.height / stream.height);
  return scale <= UPSCALE_TOLERANCE;
}

/**
 * The stream a tile should get by its size alone: the main stream for a full-screen tile or when no
 * size was given; else the smallest stream that covers the tile (the substream when it does; the
 * main stream, assumed large until its size is known, otherwise).
 */
export function streamForTile(tile: TileArea | undefined, offer: StreamOffer): Choice {
  if (!tile) return { name: 'main', reason: 'default' };
  if (tile.fullscreen) return { name: 'main', reason: 'fullscreen' };
  if (offer.hasSub) {
    const sub = offer.sub ?? ASSUMED_SUB_SIZE;
    const subIsSmaller = !offer.main || sub.width * sub.height < offer.main.width * offer.main.height;
    if (subIsSmaller && covers(sub, tile)) return { name: 'sub', reason: 'tile_size' };
  }
  return { name: 'main', reason: 'tile_size' };
}

/**
 * The lighter streams to try, best first, when `stream` would break a cap: the substream, and for a
 * camera without one the low tier (the rule: a camera with a substream is not transcoded).
 */
export function lighterThan(stream: CameraStreamName, offer: StreamOffer): CameraStreamName[] {
  if (stream === 'main') return offer.hasSub ? ['sub'] : offer.lowAvailable ? ['low'] : [];
  return [];
}

export interface CapCheck {
  /** The role's cap (kbit/s); null: none. */
  capKbps: number | null;
  /** What the session's other consumers use now (kbit/s, measured). */
  usedKbps: number;
  /** What a stream of this camera would add (kbit/s: measured while it runs, else assumed). */
  estimateKbps(stream: CameraStreamName): number;
}

/** A refusal: every stream the tile could get breaks the cap. */
export interface Refusal {
  refused: true;
  message: string;
  /** What the lightest candidate would have brought the session to (kbit/s). */
  wouldBeKbps: number;
}

/**
 * Holds a wanted stream to the session's cap: the wanted one when it fits, else the first lighter
 * one that fits (reason 'bandwidth_cap'), else a refusal saying by how much.
 */
export function withinCap(wanted: Choice, offer: StreamOffer, cap: CapCheck): Choice | Refusal {
  const candidates = [wanted.name, ...lighterThan(wanted.name, offer)];
  let lightest = Number.POSITIVE_INFINITY;
  for (const name of candidates) {
    const total = cap.usedKbps + cap.estimateKbps(name);
    lightest = Math.min(lightest, total);
    if (cap.capKbps === null || total <= cap.capKbps) return name === wanted.name ? wanted : { name, reason: 'bandwidth_cap' };
  }
  const wouldBe = Math.round(lightest);
  const tried = candidates.join(', then ');
  const noLow = wanted.name === 'main' && !offer.hasSub && !offer.lowAvailable ? ' (no low-tier transcode is free on this server)' : '';
  return {
    refused: true,
    wouldBeKbps: wouldBe,
    message: `this tile would take the session to ${wouldBe} kbit/s, over its cap of ${cap.capKbps} kbit/s (${Math.round(cap.usedKbps)} kbit/s already in use; tried the ${tried} stream${candidates.length > 1 ? 's' : ''})${noLow}`,
  };
}

/** The size of a chosen stream, when known (the low tier's is its box). */
export function sizeOf(name: CameraStreamName, offer: StreamOffer): PictureSize | undefined {
  if (name === 'main') return offer.main;
  if (name === 'sub') return offer.sub;
  return offer.lowSize;
}
