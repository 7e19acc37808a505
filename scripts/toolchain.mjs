// The one place that knows where the project's external tools live: the mediasoup worker built
// by bootstrap.sh (cached outside the repository, keyed by mediasoup version and OS release) and
// the ffmpeg binary. Used by bootstrap.sh, with-env.mjs, the server and the tests.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir, arch } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

export function mediasoupVersion() {
  const require = createRequire(join(projectRoot, 'package.json'));
  return require('mediasoup/package.json').version;
}

export function osRelease() {
  const text = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  const field = (name) => (text.match(new RegExp(`^${name}="?([^"\\n]*)"?`, 'm')) ?? [])[1] ?? 'unknown';
  return `${field('ID')}-${field('VERSION_ID')}-${arch()}`;
}

export function cacheRoot() {
  return process.env.C5_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'c5-live');
}

export function workerCacheDir() {
  return join(cacheRoot(), 'mediasoup-worker', `${mediasoupVersion()}-${osRelease()}`);
}

export function workerBinPath() {
  return join(workerCacheDir(), 'mediasoup-worker');
}

export function ffmpegPath() {
  for (const candidate of [process.env.FFMPEG_PATH, process.env.FFMPEG_BIN, '/usr/bin/ffmpeg']) {
    if (candidate && existsSync(candidate)) return candidate;
  }
  return 'ffmpeg';
}

// `node scripts/toolchain.mjs worker-bin` prints a path for shell scripts.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const what = process.argv[2];
  const answers = { 'worker-bin': workerBinPath, 'worker-dir': workerCacheDir, 'mediasoup-version': mediasoupVersion, ffmpeg: ffmpegPath };
  if (!answers[what]) {
    console.error(`usage: toolchain.mjs ${Object.keys(answers).join('|')}`);
    process.exit(2);
  }
  console.log(answers[what]());
}
