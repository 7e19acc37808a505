import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The functions of udp_batch.c and relay_loop.c (see there; NativeRelay.ts wraps the relay ones). */
export interface UdpBatchAddon {
  abi: number;
  openUdp4(): number;
  sendBatch(fd: number, arena: Buffer, ends: Uint32Array, count: number): number;
  relayInit(callback: (count: number) => void, events: Int32Array, inspect: Buffer): void;
  relayCreate(ssrc: number, payloadType: number, sps: Buffer | null, pps: Buffer | null): number;
  relayDestroy(id: number): void;
  relayRestart(id: number): void;
  relaySetOutput(id: number, fd: number): void;
  relayInspect(id: number, on: boolean): void;
  relayBind(id: number, family: 4 | 6, port: number, source: Buffer): number;
  relayUnbind(id: number): void;
  relayStats(id: number, out: Float64Array): void;
  relaySps(id: number): Buffer | undefined;
  relayPush(id: number, packet: Buffer, nowMs: number): { buffer: Buffer; ends: number[]; events: number };
  relayTestRefuseSends(every: number): void;
  relaySeed(id: number, seq: number, ts: number, atMs: number, lastTimestamp: number): void;
  relayStatCount: number;
}

/** udp_batch.c's ABI this code expects; an addon built from other sources is not used. */
const ABI = 2;

/**
 * Where workers/relay/native/build.sh puts the addon: the cache the mediasoup worker build uses
 * (server/toolchain.ts cacheRoot: C5_CACHE_DIR, else $XDG_CACHE_HOME or ~/.cache, then c5-live).
 */
export function udpBatchAddonPath(): string {
  const cache = process.env.C5_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'c5-live');
  return join(cache, 'udp-batch', 'udp_batch.node');
}

let loaded: { addon: UdpBatchAddon | undefined } | undefined;

/**
 * The batched UDP sender (sendmmsg), or undefined when it is not built or fails to load: the relay
 * then sends each packet with dgram. (Switched off by config ingest.relayNative, INGEST_RELAY_NATIVE,
 * before this is called.) Loaded once per process; why it is not used is said once, through `log`.
 */
export function udpBatchAddon(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): UdpBatchAddon | undefined {
  if (loaded) return loaded.addon;
  loaded = { addon: undefined };
  const path = udpBatchAddonPath();
  if (!existsSync(path)) {
    log(`relay: native code unavailable (${path} not built; scripts/bootstrap.sh builds it): relaying in JavaScript, one send per packet`);
    return undefined;
  }
  try {
    // process.dlopen, not require: a native addon at a cache path, no module the dependency rules follow.
    const module = { exports: {} as UdpBatchAddon };
    process.dlopen(module, path);
    const addon = module.exports;
    if (addon.abi !== ABI) throw new Error(`ABI ${String(addon.abi)}, expected ${ABI}: run scripts/bootstrap.sh again`);
    loaded.addon = addon;
  } catch (error) {
    log(`relay: native code unavailable (${(error as Error).message}): relaying in JavaScript, one send per packet`);
  }
  return loaded.addon;
}
