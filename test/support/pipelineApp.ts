import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from '../../server/app.ts';
import { loadConfig } from '../../server/config/loadConfig.ts';
import type { ConfigInput } from '../../server/config/schema.ts';
import { LogCapture } from './LogCapture.ts';

export interface TestApp {
  app: App;
  log: LogCapture;
  close(): Promise<void>;
}

/** An App with test timings (idle close 0, fast backoff), free ports and a throwaway data dir. */
export async function startTestApp(overrides: ConfigInput): Promise<TestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'c5-data-'));
  const config = loadConfig({
    configDir: join(dataDir, 'no-config'),
    env: {},
    overrides: {
      env: 'test',
      dataDir,
      logLevel: 'debug',
      ...overrides,
      http: { host: '127.0.0.1', port: 0, ...overrides.http },
      health: { enabled: false, ...overrides.health },
      media: { workers: 2, webRtcPort: 0, ...overrides.media },
      ingest: {
        idleCloseMs: 0,
        backoffInitialMs: 200,
        backoffMaxMs: 2000,
        stallTimeoutMs: 4000,
        startTimeoutMs: 20000,
        ...overrides.ingest,
      },
    },
  });
  const log = new LogCapture();
  const app = await App.create({ config, logger: log.logger });
  return {
    app,
    log,
    close: async () => {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
