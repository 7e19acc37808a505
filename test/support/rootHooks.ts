import { Simulator } from '../../scripts/camsim/Simulator.ts';
import { setPasswordHashCostForTests } from '../../server/auth/passwords.ts';

// Users created by tests in this process hash their passwords at N = 2^10 (the server's own
// processes, e.g. the built-server test, keep the production cost).
setPasswordHashCostForTests(10);

/**
 * Mocha root hooks for the whole suite: after each test, names any camera simulator that died
 * without being stopped (its exit status and last log lines), so a crashed test camera is reported
 * where it happened rather than as a cascade of refused connections in later tests.
 */
export const mochaHooks = {
  afterEach(this: Mocha.Context): void {
    for (const report of Simulator.takeDeathReports()) {
      console.error(`\n      [after "${this.currentTest?.fullTitle() ?? '?'}"] ${report.replace(/\n/g, '\n        ')}`);
    }
  },
};
