/**
 * Where a set of cameras goes on the wall ("Fill the wall" with an incident's or a grant's cameras):
 * the smallest layout that holds them all (never smaller than the current one), cameras already on
 * a tile stay there, the others take the tiles that show something else or nothing. Pure functions
 * over camera codes; the caller applies the plan with Wall.setLayout / assign / clear.
 */

/** The layout to use for `count` cameras: the current one if they fit, else the smallest that holds them (or the largest). */
export function fitLayout<L extends number>(count: number, current: L, layouts: readonly L[]): L {
  if (count <= current) return current;
  const sorted = [...layouts].sort((a, b) => a - b);
  return sorted.find((layout) => layout >= count) ?? sorted[sorted.length - 1] ?? current;
}

/**
 * The tiles' cameras after filling: `current` are the visible tiles' cameras (index = tile), `wanted`
 * the cameras to show (first ones first; duplicates ignored; those that do not fit are left out).
 * A tile keeps its camera if wanted; the other wanted cameras take the empty tiles first, then the
 * tiles showing another camera. With `clearOthers`, tiles showing another camera are emptied even
 * when not needed (an investigator's wall can show nothing but their grants).
 */
export function planTiles(current: ReadonlyArray<string | undefined>, wanted: readonly string[], options: { clearOthers?: boolean } = {}): Array<string | undefined> {
  const want = [...new Set(wanted)];
  const wantSet = new Set(want);
  const tiles = [...current];
  const shown = new Set(tiles.filter((camera): camera is string => camera !== undefined && wantSet.has(camera)));
  const queue = want.filter((camera) => !shown.has(camera));
  // Empty tiles first, then tiles with another camera.
  const free = tiles.flatMap((camera, i) => (camera === undefined ? [i] : []));
  const others = tiles.flatMap((camera, i) => (camera !== undefined && !wantSet.has(camera) ? [i] : []));
  for (const index of [...free, ...others]) {
    const next = queue.shift();
    if (next === undefined) break;
    tiles[index] = next;
  }
  if (options.clearOthers) return tiles.map((camera) => (camera !== undefined && wantSet.has(camera) ? camera : undefined));
  return tiles;
}
