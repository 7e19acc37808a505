/**
 * Builds the browser console into a directory the server serves at `/`:
 *   app.js (+ app.js.map)  client/src/main.ts bundled with esbuild (ESM, no external requests)
 *   index.html, styles.css copied from client/
 *   enrol.js (+ enrol.js.map)  client/src/enrol/main.ts: the citizen program's public pages (issue 26),
 *                          which the server sends as enrol.html at /enrol and /enrol/status
 *   enrol.html, enrol.css  copied from client/
 *   icon.svg               the tab icon (so the browser does not ask for a missing /favicon.ico)
 *
 *   import { buildClient } from '../client/build.ts'; await buildClient(outDir, { minify: true });
 *   npx tsx client/build.ts <outDir> [--minify]
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';

const CLIENT_DIR = path.dirname(fileURLToPath(import.meta.url));
const BROWSER_TARGETS = ['chrome110', 'firefox110', 'safari16'];

const ICON_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
  '<rect width="32" height="32" rx="6" fill="#0f1720"/>' +
  '<rect x="5" y="5" width="10" height="10" rx="1.5" fill="#2fbf71"/><rect x="17" y="5" width="10" height="10" rx="1.5" fill="#3a8dde"/>' +
  '<rect x="5" y="17" width="10" height="10" rx="1.5" fill="#3a8dde"/><rect x="17" y="17" width="10" height="10" rx="1.5" fill="#e0a030"/>' +
  '</svg>\n';

export interface BuildClientOptions {
  /** Minify the bundle (production). Default false. */
  minify?: boolean;
}

export async function buildClient(outDir: string, options: BuildClientOptions = {}): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: [
      { in: path.join(CLIENT_DIR, 'src', 'main.ts'), out: 'app' },
      { in: path.join(CLIENT_DIR, 'src', 'enrol', 'main.ts'), out: 'enrol' },
    ],
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: BROWSER_TARGETS,
    sourcemap: 'linked',
    sourcesContent: true,
    minify: options.minify ?? false,
    // socket.io-client and debug check process.env.NODE_ENV; the browser has no process.
    define: { 'process.env.NODE_ENV': JSON.stringify(options.minify ? 'production' : 'development') },
    logLevel: 'silent',
  });
  await Promise.all([
    copyFile(path.join(CLIENT_DIR, 'index.html'), path.join(outDir, 'index.html')),
    copyFile(path.join(CLIENT_DIR, 'styles.css'), path.join(outDir, 'styles.css')),
    copyFile(path.join(CLIENT_DIR, 'enrol.html'), path.join(outDir, 'enrol.html')),
    copyFile(path.join(CLIENT_DIR, 'enrol.css'), path.join(outDir, 'enrol.css')),
    writeFile(path.join(outDir, 'icon.svg'), ICON_SVG),
  ]);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const args = process.argv.slice(2);
  const outDir = args.find((arg) => !arg.startsWith('--'));
  if (!outDir) {
    console.error('usage: npx tsx client/build.ts <outDir> [--minify]');
    process.exit(2);
  }
  const started = Date.now();
  buildClient(path.resolve(outDir), { minify: args.includes('--minify') }).then(
    () => console.log(`console built into ${path.resolve(outDir)} in ${Date.now() - started} ms`),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exit(1);
    },
  );
}
