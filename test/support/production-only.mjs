/**
 * Makes a Node process see the project as the production image holds it: only dist/ and the
 * packages `npm ci --omit=dev` installs. Any module resolved to a file in the project that is not
 * under dist/ or node_modules/ (scripts/, test/, client/, server/*.ts, ...), or to a package that
 * package-lock.json marks dev-only (`"dev": true`, so transitive dev-only packages too), fails to
 * load with a "not found" error, as it would in the image:
 *
 *   node --import ./test/support/production-only.mjs dist/server/launch.js
 *
 * ESM imports go through a module.register() resolve hook; require() (CommonJS packages and
 * createRequire) through a wrapper of Module._resolveFilename, since Node 20's hooks do not see
 * it. Every refusal is also printed to stderr, prefixed "production-only:", so one that a package
 * catches (an optional dependency) still shows.
 *
 * Plain .mjs on purpose: the process it guards has no tsx.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { dirname, isAbsolute, join, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';

export const MARK = 'production-only:';

/** @type {{ root: string; devOnly: Set<string> } | undefined} */
let state;

/** The project root and the lock keys (`node_modules/a`, `node_modules/a/node_modules/b`) of dev-only packages. */
function load(root) {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const devOnly = new Set(Object.entries(lock.packages ?? {}).filter(([key, entry]) => key !== '' && entry.dev === true).map(([key]) => key));
  return { root, devOnly };
}

/** The package-lock key of the package holding `relative` (a path under the root starting with node_modules/). */
function packageKey(relative) {
  const parts = relative.split(sep);
  const key = [];
  let i = 0;
  while (parts[i] === 'node_modules' && i + 1 < parts.length) {
    const scoped = parts[i + 1].startsWith('@');
    key.push(...parts.slice(i, i + (scoped ? 3 : 2)));
    i += scoped ? 3 : 2;
  }
  return key.join('/');
}

/** Why `file` is not in the image, or undefined when it is. */
function refusal(file) {
  const { root, devOnly } = state;
  if (!file.startsWith(root + sep)) return undefined; // Node itself, system files
  const relative = file.slice(root.length + 1);
  if (relative.startsWith(`node_modules${sep}`)) {
    const key = packageKey(relative);
    return devOnly.has(key) ? `${key.replace(/^.*node_modules\//, '')} is a dev-only package (package-lock.json: ${key})` : undefined;
  }
  if (relative.startsWith(`dist${sep}`)) return undefined;
  return `${relative} is outside dist/ (the image holds dist/ and production node_modules only)`;
}

function refuse(specifier, parent, why, code) {
  const message = `${MARK} ${JSON.stringify(specifier)}${parent ? ` from ${parent}` : ''}: ${why}`;
  process.stderr.write(`${message}\n`);
  return Object.assign(new Error(message), { code });
}

// -- hooks thread: the ESM resolve hook ---------------------------------------------------------

export function initialize(data) {
  state = { root: data.root, devOnly: new Set(data.devOnly) };
}

export async function resolve(specifier, context, nextResolve) {
  const result = await nextResolve(specifier, context);
  if (result.url.startsWith('file:')) {
    const why = refusal(fileURLToPath(result.url));
    if (why) throw refuse(specifier, context.parentURL, why, 'ERR_MODULE_NOT_FOUND');
  }
  return result;
}

// -- main thread: register the hook, wrap require() ---------------------------------------------

if (isMainThread) {
  const root = realpathSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..'));
  state = load(root);
  register(import.meta.url, { parentURL: pathToFileURL(`${root}/`).href, data: { root, devOnly: [...state.devOnly] } });

  const Module = createRequire(import.meta.url)('node:module');
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function (request, parent, ...rest) {
    const file = resolveFilename.call(this, request, parent, ...rest);
    const why = isAbsolute(file) ? refusal(file) : undefined;
    if (why) throw refuse(request, parent?.filename, why, 'MODULE_NOT_FOUND');
    return file;
  };
}
