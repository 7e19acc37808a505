// dist/'s freshness stamp: a SHA-256 of everything `npm run build` reads (server/, workers/,
// client/, the TypeScript configs, package.json and package-lock.json, this file), written to
// dist/.build-stamp after a build that started from those very contents. `npm run build` deletes
// dist/ first, so a build run any other way (or one that failed) leaves no stamp and the next
// check builds again; a changed, added or removed input file changes the hash.
//
//   node scripts/build-stamp.mjs               npm run build, then the stamp (scripts/bootstrap.sh)
//   node scripts/build-stamp.mjs --if-changed  the same, unless dist/ is stamped with the current hash
//                                              (scripts/checks.mjs)
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const INPUT_DIRS = ['server', 'workers', 'client'];
const INPUT_FILES = ['tsconfig.json', 'package.json', 'package-lock.json', 'scripts/build-stamp.mjs'];
const SKIPPED_DIRS = new Set(['node_modules', 'dist']);
export const STAMP_PATH = join(root, 'dist', '.build-stamp');

function listFiles(dir, out) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) listFiles(full, out);
    } else if (entry.isFile()) {
      out.push(full);
    }
  }
  return out;
}

/** The hash of the build's inputs: each file's path and contents, in path order. */
export function sourceHash() {
  const files = [...INPUT_DIRS.flatMap((dir) => listFiles(join(root, dir), [])), ...INPUT_FILES.map((file) => join(root, file))];
  const hash = createHash('sha256');
  for (const file of files.map((full) => relative(root, full)).sort()) {
    const contents = readFileSync(join(root, file));
    hash.update(`${file}\0${contents.length}\0`).update(contents);
  }
  return hash.digest('hex');
}

export function stampedHash() {
  try {
    return readFileSync(STAMP_PATH, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Runs `npm run build` and stamps dist/ with the inputs' hash taken before it started. */
export async function buildAndStamp({ ifChanged = false, stdio = 'inherit' } = {}) {
  const hash = sourceHash();
  if (ifChanged && stampedHash() === hash) return { code: 0, output: 'dist/ is up to date with the sources (dist/.build-stamp): build skipped\n', skipped: true };
  const child = spawn('npm', ['run', '--silent', 'build'], { cwd: root, stdio: stdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const code = await new Promise((resolve) => {
    child.once('error', (error) => {
      output += `${error.message}\n`;
      resolve(1);
    });
    child.once('close', (exitCode) => resolve(exitCode ?? 1));
  });
  if (code === 0) writeFileSync(STAMP_PATH, `${hash}\n`);
  return { code, output, skipped: false };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { code, output } = await buildAndStamp({ ifChanged: process.argv.includes('--if-changed') });
  process.stdout.write(output);
  process.exit(code);
}
