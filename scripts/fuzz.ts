/**
 * Full fuzz run (issue 17): every entry point of the fuzz harness (test/support/fuzz) with at least
 * 10,000 generated hostile inputs each, then the server must still serve /readyz and a live tile.
 *
 *   npm run fuzz                                   # 10,000 per entry point, a random seed (printed)
 *   FUZZ_RUNS=200 FUZZ_SEED=42 npm run fuzz        # fewer cases, a fixed seed
 *   FUZZ_ONLY='socket consume' FUZZ_SEED=42 FUZZ_PATH=3:1:0 npm run fuzz   # replay one shrunk failure
 *
 * Prints per entry point the cases run and whether it failed; a failure prints its seed, fast-check
 * path and shrunk input (add it as a regression test). Exits 1 on any failure.
 */
import { FuzzTarget, type EntryResult } from '../test/support/fuzz/harness.ts';
import { entryName } from '../test/support/fuzz/entryPoints.ts';

const runs = Number(process.env.FUZZ_RUNS ?? 10_000);
const seed = Number(process.env.FUZZ_SEED ?? (Date.now() ^ (Math.random() * 0x7fffffff)) | 0);
const only = process.env.FUZZ_ONLY;
const replayPath = process.env.FUZZ_PATH;

const target = await FuzzTarget.start();
const results: EntryResult[] = [];
let healthy = true;
try {
  const entries = target.entries.filter((entry) => !only || entryName(entry).includes(only));
  console.log(`fuzz: seed ${seed}, ${runs} cases per entry point, ${entries.length} entry points; error codes from the OpenAPI document: ${[...target.errorCodes].join(' ')}`);
  for (const entry of entries) {
    const started = Date.now();
    const result = await target.run(entry, { numRuns: runs, seed, ...(replayPath && { path: replayPath }) });
    results.push(result);
    target.compactLogs();
    console.log(`${result.failed ? 'FAIL' : 'ok  '} ${result.name.padEnd(40)} ${String(result.runs).padStart(6)} cases  ${result.failed ? 1 : 0} failures  ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (result.failed) {
      console.log(`     seed ${result.seed}  path ${result.path}\n     shrunk input ${result.counterexample}\n     ${result.error}`);
      console.log(`     replay: FUZZ_ONLY='${result.name}' FUZZ_SEED=${result.seed} FUZZ_PATH=${result.path} npm run fuzz`);
    }
  }
  try {
    await target.checkStillServing();
    console.log('afterwards: /readyz 200, no unexpected error logged, a fresh viewer consumes the live camera');
  } catch (error) {
    healthy = false;
    console.log(`afterwards: NOT SERVING: ${(error as Error).message}`);
  }
} finally {
  await target.close();
}
const failures = results.filter((r) => r.failed).length;
console.log(`fuzz: ${results.length} entry points, ${results.reduce((n, r) => n + r.runs, 0)} cases, ${failures} failing entry points (seed ${seed})`);
process.exit(failures > 0 || !healthy ? 1 : 0);
