/**
 * Where the server's external tools live: the mediasoup worker built by
 * scripts/build-mediasoup-worker.sh (cached outside the repository, keyed by mediasoup version and
 * OS release) and the ffmpeg binary; and the environment the server needs before mediasoup is
 * first imported (mediasoup 3.12 reads MEDIASOUP_WORKER_BIN once, when its module loads).
 *
 * Used by the launcher (server/launch.ts), the composition root (ffmpeg), the development entries
 * under scripts/ (demo.ts, with-env.mjs) and the tests. It imports nothing but Node itself, so it
 * can run before anything else is loaded. For shell scripts:
 *
 *   node --import tsx server/toolchain.ts worker-bin     (from the sources)
 *   node dist/server/toolchain.js worker-bin             (built; in the image)
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project root: the nearest folder above this file holding package.json. The same answer from
 * server/toolchain.ts (run from source) and from dist/server/toolchain.js (built).
 */
export const projectRoot = findProjectRoot(dirname(fileURLToPath(import.meta.url)));

function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}: cannot tell where C5 Live is installed`);
  }
}

/** The installed mediasoup's version (the worker cache key). */
export function mediasoupVersion(): string {
  const require = createRequire(join(projectRoot, 'package.json'));
  return (require('mediasoup/package.json') as { version: string }).version;
}

/** `<ID>-<VERSION_ID>-<arch>` from /etc/os-release, e.g. `debian-12-x64`. */
export function osRelease(): string {
  const text = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  const field = (name: string): string => new RegExp(`^${name}="?([^"\\n]*)"?`, 'm').exec(text)?.[1] ?? 'unknown';
  return `${field('ID')}-${field('VERSION_ID')}-${arch()}`;
}

export function cacheRoot(): string {
  return process.env.C5_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'c5-live');
}

export function workerCacheDir(): string {
  return join(cacheRoot(), 'mediasoup-worker', `${mediasoupVersion()}-${osRelease()}`);
}

export function workerBinPath(): string {
  return join(workerCacheDir(), 'mediasoup-worker');
}

/** FFMPEG_PATH, then FFMPEG_BIN, then Debian's /usr/bin/ffmpeg when the file exists; else `ffmpeg` on PATH. */
export function ffmpegPath(): string {
  for (const candidate of [process.env.FFMPEG_PATH, process.env.FFMPEG_BIN, '/usr/bin/ffmpeg']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  return 'ffmpeg';
}

/** The mediasoup worker binary is missing: the message says where it was looked for and how to build it. */
export class ToolchainError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ToolchainError';
  }
}

/**
 * Sets MEDIASOUP_WORKER_BIN (the cached worker) and FFMPEG_BIN in `env` when they are unset, and
 * checks the worker binary exists. Call it before anything imports mediasoup (or ffmpeg-static):
 * then import the rest dynamically.
 */
export function setToolchainEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  const explicit = env.MEDIASOUP_WORKER_BIN;
  const workerBin = explicit || workerBinPath();
  if (!existsSync(workerBin)) {
    const where = explicit ? `MEDIASOUP_WORKER_BIN=${explicit}` : `${workerBin} (C5_CACHE_DIR or ~/.cache/c5-live)`;
    throw new ToolchainError(`mediasoup worker not found at ${where}: build it with ./scripts/bootstrap.sh (or scripts/build-mediasoup-worker.sh)`);
  }
  env.MEDIASOUP_WORKER_BIN = workerBin;
  env.FFMPEG_BIN ||= ffmpegPath();
}

/** setToolchainEnvironment() for an entry point: a missing worker ends the process with the reason. */
export function setToolchainEnvironmentOrExit(): void {
  try {
    setToolchainEnvironment();
  } catch (error) {
    if (!(error instanceof ToolchainError)) throw error;
    console.error(`C5 Live cannot start: ${error.message}`);
    process.exit(1);
  }
}

const answers: Record<string, () => string> = {
  'worker-bin': workerBinPath,
  'worker-dir': workerCacheDir,
  'mediasoup-version': mediasoupVersion,
  ffmpeg: ffmpegPath,
};

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const answer = answers[process.argv[2] ?? ''];
  if (!answer) {
    console.error(`usage: toolchain ${Object.keys(answers).join('|')}`);
    process.exit(2);
  }
  console.log(answer());
}
