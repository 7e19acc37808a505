import net from 'node:net';
import type { H264RtpRewriterStats } from '../H264RtpRewriter.ts';
import type { UdpBatchAddon } from './udpBatch.ts';

/** What relay_loop.c tells about a camera, once per wakeup that changed something (flags may combine). */
export const RELAY_EVENT = { wrote: 1, keyframe: 2, waiting: 4, bSlice: 8, inspect: 16 } as const;

/** Indexes of relayStats' Float64Array (relay_loop.c STAT_*). */
const STAT = {
  packetsIn: 0,
  packetsOut: 1,
  dropped: 2,
  invalid: 3,
  parameterSetsInserted: 4,
  parameterSetsRemoved: 5,
  keyframes: 6,
  timestampRebases: 7,
  spsChanges: 8,
  lastKeyframeAt: 9,
  keyframeIntervalMs: 10,
  waiting: 11,
  rxPackets: 12,
  rxBytes: 13,
  rxLost: 14,
  rxJitterMs: 15,
  lastRtpAt: 16,
  cameraSsrc: 17,
  cameraSequence: 18,
  sentPackets: 19,
  sentBytes: 20,
  sentFrames: 21,
  sentLastTimestamp: 22,
  sendDropped: 23,
  sourceDropped: 24,
  spsVersion: 25,
  deferred: 26,
  lastOutSeq: 27,
  lastOutTs: 28,
  lastOutAt: 29,
} as const;

/** A native relay's counters (see relay_loop.c): the rewriter's are H264RtpRewriter's, the reception's RtpReceptionStats'. */
export interface NativeRelayStats extends H264RtpRewriterStats {
  waitingForKeyframe: boolean;
  /** The camera's RTP as received (RtpReceptionStats): packets, bytes of whole packets, lost, jitter (ms). */
  reception: { packets: number; bytes: number; lost: number; jitterMs: number };
  /** Wall clock (ms) of the newest RTP packet from the camera. */
  lastRtpAt?: number;
  /** The camera's SSRC and newest sequence number (for receiver reports). */
  cameraSsrc?: number;
  cameraSequence: number;
  /** What reached the PlainTransport's socket: packets, bytes, frames (marker bits), newest RTP timestamp. */
  sent: { packets: number; bytes: number; frames: number; lastTimestamp: number };
  /**
   * Packets dropped on the way out: the output socket stayed full with 512 KiB already held for it
   * (relay_loop.c BACKLOG_BYTES), or the output changed while packets were held.
   */
  sendDropped: number;
  /** Datagrams from an address other than the camera's. */
  sourceDropped: number;
  /** Bumped whenever the SPS changes (1: the SDP's): when to parse relaySps() again. */
  spsVersion: number;
  /** Packets that waited in the backlog for a full output socket. */
  deferred: number;
  /** The newest output (sequence number, RTP timestamp, wall clock ms of its access unit), as H264RtpRewriter.lastOutput. */
  lastOutput?: { seq: number; ts: number; at: number };
}

type Handler = (flags: number, packet: Buffer | undefined) => void;

const EVENT_RECORDS = 4096;
const INSPECT_BYTES = 256 * 1024;

/** The addon's process-wide loop, started with the first relay (or why it could not be). */
let loop: { addon: UdpBatchAddon; handlers: Map<number, Handler> } | undefined;
let loopFailure: Error | undefined;

function startLoop(addon: UdpBatchAddon): Map<number, Handler> {
  if (loopFailure) throw loopFailure;
  if (loop) {
    if (loop.addon !== addon) throw new Error('NativeRelay: one addon per process');
    return loop.handlers;
  }
  const handlers = new Map<number, Handler>();
  const events = new Int32Array(EVENT_RECORDS * 4);
  const inspect = Buffer.alloc(INSPECT_BYTES);
  try {
    addon.relayInit(
      (count) => {
        for (let i = 0; i < count; i++) {
          const id = events[4 * i]!;
          const flags = events[4 * i + 1]!;
          const length = events[4 * i + 3]!;
          const handler = handlers.get(id);
          if (!handler) continue;
          const offset = events[4 * i + 2]!;
          // A view of the shared copy area: valid during the call only (handlers do not keep it).
          handler(flags, length > 0 ? inspect.subarray(offset, offset + length) : undefined);
        }
      },
      events,
      inspect,
    );
  } catch (error) {
    // Said once by the caller; every later relay of this process takes the JavaScript path too.
    loopFailure = error as Error;
    throw loopFailure;
  }
  loop = { addon, handlers };
  return handlers;
}

/**
 * One camera's relay in native code (relay_loop.c): the RTP of its UDP receive socket is checked,
 * counted, rewritten like H264RtpRewriter does and sent to the output socket, all without
 * JavaScript; `onEvent` hears what changes the camera's state (RELAY_EVENT flags; a copy of the
 * packet with `inspect`). Owned by its RelayIngest, which destroys it; destroy() closes the receive
 * socket (never the output socket, which the caller owns).
 */
export class NativeRelay {
  readonly #addon: UdpBatchAddon;
  readonly #id: number;
  readonly #stats: Float64Array;
  #destroyed = false;

  constructor(addon: UdpBatchAddon, options: { ssrc: number; payloadType: number; parameterSets?: { sps: Buffer; pps: Buffer } }, onEvent: Handler) {
    const handlers = startLoop(addon);
    this.#addon = addon;
    this.#id = addon.relayCreate(options.ssrc >>> 0, options.payloadType, options.parameterSets?.sps ?? null, options.parameterSets?.pps ?? null);
    this.#stats = new Float64Array(addon.relayStatCount);
    handlers.set(this.#id, onEvent);
  }

  /**
   * Binds the receive socket (family 4 or 6; port 0: the kernel's choice), taking datagrams only
   * from `source` (an IPv4 or IPv6 address in bytes: 4 or 16). The port, or undefined when taken.
   * Throws on another failure.
   */
  bind(family: 4 | 6, port: number, source: Buffer): number | undefined {
    // After destroy() the id may be another camera's.
    if (this.#destroyed) throw new Error('relay: bind after destroy');
    const result = this.#addon.relayBind(this.#id, family, port, source);
    if (result >= 0) return result;
    if (result === -98 /* EADDRINUSE */ || result === -13 /* EACCES */) return undefined;
    throw new Error(`relay: binding a UDP port failed (errno ${-result})`);
  }

  unbind(): void {
    if (!this.#destroyed) this.#addon.relayUnbind(this.#id);
  }

  /** A new run of the camera: H264RtpRewriter.restart() and a new reception count. */
  restart(): void {
    if (!this.#destroyed) this.#addon.relayRestart(this.#id);
  }

  /** The connected UDP socket packets go to (its descriptor), or -1: none (packets are dropped). */
  setOutput(fd: number): void {
    if (!this.#destroyed) this.#addon.relaySetOutput(this.#id, fd);
  }

  /** Whether received packets are also copied to `onEvent` (RELAY_EVENT.inspect). */
  inspect(on: boolean): void {
    if (!this.#destroyed) this.#addon.relayInspect(this.#id, on);
  }

  /**
   * Continues the JavaScript path's output (the camera ran there before): after restart(), the next
   * IDR follows `last` (H264RtpRewriter.lastOutput), and the sender reports' timestamp is `lastTimestamp`.
   */
  continueFrom(last: { seq: number; ts: number; at: number }, lastTimestamp: number): void {
    if (!this.#destroyed) this.#addon.relaySeed(this.#id, last.seq & 0xffff, last.ts >>> 0, last.at, lastTimestamp >>> 0);
  }

  /** The newest SPS NAL unit (the SDP's until one arrives in band). */
  sps(): Buffer | undefined {
    if (this.#destroyed) return undefined;
    return this.#addon.relaySps(this.#id);
  }

  /** The counters (frozen at destroy(): the last ones read). */
  stats(): NativeRelayStats {
    const s = this.#stats;
    if (!this.#destroyed) this.#addon.relayStats(this.#id, s);
    const optional = (value: number) => (Number.isNaN(value) ? undefined : value);
    return {
      packetsIn: s[STAT.packetsIn]!,
      packetsOut: s[STAT.packetsOut]!,
      dropped: s[STAT.dropped]!,
      invalid: s[STAT.invalid]!,
      parameterSetsInserted: s[STAT.parameterSetsInserted]!,
      parameterSetsRemoved: s[STAT.parameterSetsRemoved]!,
      keyframes: s[STAT.keyframes]!,
      timestampRebases: s[STAT.timestampRebases]!,
      spsChanges: s[STAT.spsChanges]!,
      lastKeyframeAt: optional(s[STAT.lastKeyframeAt]!),
      keyframeIntervalMs: optional(s[STAT.keyframeIntervalMs]!),
      waitingForKeyframe: s[STAT.waiting] === 1,
      reception: { packets: s[STAT.rxPackets]!, bytes: s[STAT.rxBytes]!, lost: s[STAT.rxLost]!, jitterMs: s[STAT.rxJitterMs]! },
      lastRtpAt: optional(s[STAT.lastRtpAt]!),
      cameraSsrc: optional(s[STAT.cameraSsrc]!),
      cameraSequence: s[STAT.cameraSequence]!,
      sent: { packets: s[STAT.sentPackets]!, bytes: s[STAT.sentBytes]!, frames: s[STAT.sentFrames]!, lastTimestamp: s[STAT.sentLastTimestamp]! },
      sendDropped: s[STAT.sendDropped]!,
      sourceDropped: s[STAT.sourceDropped]!,
      spsVersion: s[STAT.spsVersion]!,
      deferred: s[STAT.deferred]!,
      ...(!Number.isNaN(s[STAT.lastOutSeq]!) && { lastOutput: { seq: s[STAT.lastOutSeq]!, ts: s[STAT.lastOutTs]!, at: s[STAT.lastOutAt]! } }),
    };
  }

  /**
   * One packet through the native path without sockets (tests): what it wrote, each packet a Buffer
   * of its own, and the RELAY_EVENT flags it raised. `nowMs` is the wall clock the rewriter uses.
   */
  push(packet: Buffer, nowMs: number): { packets: Buffer[]; events: number } {
    if (this.#destroyed) throw new Error('relay: push after destroy');
    const { buffer, ends, events } = this.#addon.relayPush(this.#id, packet, nowMs);
    const packets: Buffer[] = [];
    let start = 0;
    for (const end of ends) {
      packets.push(Buffer.from(buffer.subarray(start, end)));
      start = end;
    }
    return { packets, events };
  }

  /** Closes the receive socket and frees the relay; idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    loop?.handlers.delete(this.#id);
    this.#addon.relayDestroy(this.#id);
  }
}

/**
 * An IP address as bytes in network order: 4 for IPv4 (an IPv4-mapped IPv6 address included), 16
 * for IPv6 (RFC 4291 §2.2 text forms: '::' and a trailing dotted IPv4). Throws on anything else.
 */
export function addressBytes(address: string): Buffer {
  const plain = address.toLowerCase().startsWith('::ffff:') && net.isIPv4(address.slice(7)) ? address.slice(7) : address;
  if (net.isIPv4(plain)) return Buffer.from(plain.split('.').map(Number));
  if (!net.isIPv6(plain)) throw new Error(`not an IP address: ${address}`);
  let text = plain.replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -dotted[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, i) => bytes.writeUInt16BE(parseInt(group, 16), 2 * i));
  return bytes;
}
