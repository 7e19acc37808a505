import { loadConfig } from './config/loadConfig.ts';
import { ConfigError } from './config/ConfigError.ts';
import type { Config, ConfigCamera } from './config/schema.ts';
import { createLogger, type Logger } from './logging/createLogger.ts';
import { App } from './app.ts';

/** Something started beside the server (the demo's camera simulator): its cameras are registered at start-up. */
export interface Companion {
  cameras: ConfigCamera[];
  /** Called after the server has closed. */
  close(): Promise<void>;
}

export interface ServeOptions {
  /** Runs after the config is loaded and before the App is created. */
  companion?: (config: Readonly<Config>, logger: Logger) => Promise<Companion | undefined>;
  /** Runs once the App is ready: tells the user where to find it. */
  ready(app: App, config: Readonly<Config>): Promise<void> | void;
}

/**
 * Runs C5 Live until SIGINT/SIGTERM: config, logger, App; closes everything in reverse on a signal
 * or when start-up fails. The server entry (server/index.ts) and the demo (scripts/demo.ts) share it.
 */
export async function serve(options: ServeOptions): Promise<void> {
  let config: Readonly<Config>;
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

  let companion: Companion | undefined;
  let app: App | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (signal: string): Promise<void> =>
    (stopping ??= (async () => {
      logger.info({ signal }, 'shutting down');
      await app?.close();
      await companion?.close();
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
    companion = await options.companion?.(config, logger);
    app = await App.create({ config, logger, seedCameras: companion?.cameras ?? [] });
    await options.ready(app, config);
  } catch (error) {
    if (error instanceof ConfigError) console.error(`C5 Live cannot start: ${error.message}`);
    else logger.fatal({ err: error }, 'C5 Live could not start');
    await stop('startup-failure');
    process.exit(1);
  }
}
