/**
 * `npm start` (development): the bundled RTSP camera simulator (scripts/camsim) plus C5 Live with
 * the simulator's cameras registered, the demo accounts (created on the first run, passwords
 * printed once) and a single-use console link for the demo operator. Ctrl-C stops the server, every
 * ffmpeg and the simulator. With NODE_ENV=production it starts the plain server: no simulator, no
 * demo link, no demo account.
 *
 *   npm start                                   (builds first: the console is served from dist/client)
 *   DEMO_CAMERAS=my-cameras.json npm start      (another simulator config; default config/cameras.json)
 *
 * The server runs from source here (tsx), through the launcher's environment setup: the worker
 * path is set before the server, and so mediasoup, is imported.
 */
import { setToolchainEnvironmentOrExit } from '../server/toolchain.ts';
import { DemoCameras } from './demo/DemoCameras.ts';
import { DEFAULT_CONFIG } from './camsim/Simulator.ts';

setToolchainEnvironmentOrExit();
const { serve } = await import('../server/serve.ts');

let demo = false;
let demoCameras: DemoCameras | undefined;
await serve({
  companion: async (config, logger) => {
    demo = config.env !== 'production';
    demoCameras = demo ? await DemoCameras.start(process.env.DEMO_CAMERAS || DEFAULT_CONFIG, logger) : undefined;
    return demoCameras;
  },
  ready: async (app, config) => {
    if (!demo) {
      console.log(`C5 Live listening on ${app.consoleUrl}`);
      return;
    }
    // First run only: demo accounts with generated passwords, shown this once.
    const created = await app.users.ensureDemoUsers();
    for (const account of created ?? []) console.log(`Demo ${account.role}: user "${account.username}", password "${account.password}" (shown once)`);
    const operator = await app.users.repository.findByUsername('operator');
    if (operator && !operator.disabled) {
      const code = app.loginCodes.issue({ userId: operator.id, role: operator.role });
      console.log(`Console: ${app.consoleUrl}/#code=${code}`);
      console.log(`(single-use sign-in link for the demo operator, valid ${Math.round(config.auth.loginCodeTtlSeconds / 60)} minutes; Ctrl-C stops C5 Live)`);
    } else {
      console.log(`Console: ${app.consoleUrl}/ (the demo operator is gone: sign in with a user and password)`);
    }
    if (config.enrolment.enabled) console.log(`Citizen enrolment page (public, no account): ${app.consoleUrl}/enrol (English: /enrol?lang=en)`);
    const sample = demoCameras?.cameras.find((camera) => !camera.username);
    if (sample) {
      const allowed = config.enrolment.allowNetworks.length > 0 && config.enrolment.allowedPorts.includes(new URL(sample.url).port === '' ? 554 : Number(new URL(sample.url).port));
      console.log(
        allowed
          ? `(a demo camera to enrol there: ${sample.url})`
          : `(to enrol a demo camera such as ${sample.url}, start with ENROLMENT_ALLOW_NETWORKS=127.0.0.1/32${new URL(sample.url).port === '8554' ? '' : ` ENROLMENT_ALLOWED_PORTS=554,8554,322,${new URL(sample.url).port}`}: the page refuses this machine's own addresses otherwise)`,
      );
    }
  },
});
