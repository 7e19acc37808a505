import { loadConfig } from './config/loadConfig.ts';
import { ConfigError } from './config/ConfigError.ts';
import { createLogger } from './logging/createLogger.ts';
import { App } from './app.ts';
import { DemoCameras } from '../scripts/demo/DemoCameras.ts';

let config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`C5 Live cannot start: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
const logger = createLogger({ level: config.logLevel, pretty: config.env !== 'production' });
const demoEnabled = config.demo.simulator && config.env !== 'production';

let demo: DemoCameras | undefined;
let app: App | undefined;
let stopping: Promise<void> | undefined;
const stop = (signal: string): Promise<void> =>
  (stopping ??= (async () => {
    logger.info({ signal }, 'shutting down');
    await app?.close();
    await demo?.close();
    logger.info('stopped');
    logger.flush();
  })());

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void stop(signal).then(() => process.exit(0));
    // A second signal, or a shutdown that hangs, ends the process at once.
    process.once(signal, () => process.exit(1));
    setTimeout(() => process.exit(1), 15_000).unref();
  });
}

try {
  if (demoEnabled) demo = await DemoCameras.start(config.demo.simulatorConfig, logger);
  app = await App.create({ config, logger, seedCameras: demo?.cameras ?? [] });
  if (demoEnabled) {
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
  } else {
    console.log(`C5 Live listening on ${app.consoleUrl}`);
  }
} catch (error) {
  logger.fatal({ err: error }, 'C5 Live could not start');
  await stop('startup-failure');
  process.exit(1);
}
