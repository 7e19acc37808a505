/**
 * When the tiles of a console play again after a network change, from a history of each tile's
 * decoded frame counts (polled in the page, e.g. every 50 ms): a tile plays again at its first new
 * frame after its longest gap since `since`; every tile plays again when the last one does, and is
 * `settled` once each has shown 10 more frames since. Times in ms from `since`.
 * Used by test/e2e/network.test.ts and scripts/bench/network.ts.
 */

/** In-page: the decoded frame count of each tile's shown video, in tile order. */
export const FRAME_COUNTS = `[...document.querySelectorAll('.tile')].filter((tile) => tile.dataset.cameraId).map((tile) => tile.querySelector('video:not(.standby)')?.getVideoPlaybackQuality().totalVideoFrames ?? 0)`;

export interface FrameSample {
  /** Date.now() of the poll. */
  at: number;
  counts: number[];
}

export interface Recovery {
  allPlayingMs: number;
  perTileMs: number[];
  longestGapMs: number[];
  settled: boolean;
}

export function recoveryOf(history: readonly FrameSample[], since: number): Recovery {
  const tiles = history[0]!.counts.length;
  const perTile: number[] = [];
  const gaps: number[] = [];
  for (let i = 0; i < tiles; i++) {
    let lastChange = since;
    let longest = 0;
    let resumedAt = since;
    for (let k = 1; k < history.length; k++) {
      if (history[k]!.counts[i]! > history[k - 1]!.counts[i]!) {
        const gap = history[k]!.at - lastChange;
        if (gap > longest) {
          longest = gap;
          resumedAt = history[k]!.at;
        }
        lastChange = history[k]!.at;
      }
    }
    perTile.push(resumedAt - since);
    gaps.push(longest);
  }
  const last = history[history.length - 1]!;
  const settled = perTile.every((ms, i) => {
    const base = history.find((h) => h.at >= since + ms);
    return ms > 0 && base !== undefined && last.counts[i]! - base.counts[i]! >= 10;
  });
  return { allPlayingMs: Math.max(...perTile), perTileMs: perTile, longestGapMs: gaps, settled };
}
