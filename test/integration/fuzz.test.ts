import { expect } from 'chai';
import { FuzzTarget, type EntryResult } from '../support/fuzz/harness.ts';
import { entryName } from '../support/fuzz/entryPoints.ts';
import { regressions } from '../support/fuzz/regressions.ts';
import { SecretsScan } from '../support/SecretsScan.ts';

/**
 * Quick fuzz (issue 17): every REST endpoint from no one and each role, every Socket.IO request
 * event from each role (with and without an acknowledgement), the SIA DC-09 codec and receiver (generated
 * bytes over TCP and UDP, issue 23), a dozen generated hostile inputs
 * each, from a fixed seed. Full mode (>= 10,000 per entry point): `npm run fuzz`. Replay a failure
 * with `FUZZ_ONLY=<entry> FUZZ_SEED=<seed> FUZZ_PATH=<path> npm run fuzz`.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 1717);
// A quick pass in `npm test` (the whole command must stay under 15 minutes): 12 cases per entry
// point, a prefix (same fixed seed) of the cases that passed at 200. `npm run fuzz` runs 10,000 each.
const RUNS = Number(process.env.FUZZ_RUNS ?? 12);
/** Regressions still open (the fix has not landed): kept as it.skip so the suite stays green. */
const OPEN: string[] = [];

describe('fuzzing every entry point (quick)', function () {
  this.timeout(300_000);
  let target: FuzzTarget;
  const results: EntryResult[] = [];

  before(async () => {
    target = await FuzzTarget.start();
    console.log(`      fuzz seed ${SEED}, ${RUNS} cases per entry point, ${target.entries.length} entry points, error codes: ${[...target.errorCodes].join(' ')}`);
  });
  after(async () => {
    await target?.close();
  });

  for (const regression of regressions) {
    (OPEN.includes(regression.name) ? it.skip : it)(`REGRESSION: ${regression.name}`, async () => {
      if (regression.kind === 'rest') await target.checkRest(regression.method, regression.path, regression.caller, regression.body);
      else if (regression.kind === 'dc09') await (regression.transport === 'codec' ? target.checkDc09Codec(regression.input) : target.checkDc09(regression.input, regression.transport));
      else await target.checkSocket(regression.role, regression.event, regression.payload, regression.noAck);
    });
  }

  it('never answers 5xx or an unlisted error code, never crashes, and still serves a live tile afterwards', async () => {
    const started = Date.now();
    for (const entry of target.entries) {
      const result = await target.run(entry, { numRuns: RUNS, seed: SEED });
      results.push(result);
      if (result.failed) console.log(`      FAIL ${result.name}: seed ${result.seed} path ${result.path}\n        input ${result.counterexample}\n        ${result.error}`);
    }
    console.log(`      ${results.length} entry points, ${results.reduce((n, r) => n + r.runs, 0)} cases in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const failures = results.filter((r) => r.failed);
    expect(failures.map((f) => `${f.name} (seed ${f.seed}, path ${f.path}): ${f.error}`)).to.deep.equal([]);
    expect(results.map((r) => r.name)).to.include.members(target.entries.map(entryName));
    await target.checkStillServing();
  });

  it('leaves no secret in the logs, /metrics or the audit of the run', async () => {
    const scan = new SecretsScan().registerApp(target.t.app).watchLog(target.t.log);
    await scan.collectApp(target.t.app);
    expect(scan.counts.logLines).to.be.greaterThan(0);
    scan.assertClean();
  });
});
