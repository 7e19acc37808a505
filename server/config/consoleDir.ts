import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { projectRoot } from '../toolchain.ts';
import { ConfigError } from './ConfigError.ts';
import type { Config } from './schema.ts';

/**
 * The built console (`npm run build` writes it to dist/client): http.consoleDir (CONSOLE_DIR), else
 * `<project root>/dist/client`, the same folder whether the server runs from source or from dist/.
 * The server never builds it. Throws ConfigError when there is no index.html there.
 */
export function consoleDir(config: Readonly<Config>): string {
  const dir = resolve(config.http.consoleDir ?? join(projectRoot, 'dist', 'client'));
  if (!existsSync(join(dir, 'index.html'))) {
    throw new ConfigError([`http.consoleDir (CONSOLE_DIR): no console in ${dir} (index.html missing): run \`npm run build\``]);
  }
  return dir;
}
