// The checks `npm test` runs before mocha, at once (two cores: the build's tsc and the typecheck's
// tsc overlap): the build (dist/, which the e2e tests serve), the typecheck and the dependency
// rules. Each one's output is printed whole when it ends; the exit code is the first failure's.
// The build is skipped when dist/ is stamped with the hash of the very sources it was built from
// (scripts/build-stamp.mjs; scripts/bootstrap.sh, which both README commands run first, builds and
// stamps it); any changed input file, or a build run some other way, means a build here.
import { spawn } from 'node:child_process';
import { buildAndStamp } from './build-stamp.mjs';

function run(command, args) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', (error) => resolve({ code: 1, output: `${output}${error.message}\n` }));
    child.once('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

const steps = [
  ['build', () => buildAndStamp({ ifChanged: true, stdio: 'pipe' })],
  ['typecheck', () => run('npm', ['run', '--silent', 'typecheck'])],
  ['deps', () => run('npm', ['run', '--silent', 'deps'])],
];

const results = await Promise.all(
  steps.map(async ([name, step]) => {
    const started = Date.now();
    const { code, output } = await step().catch((error) => ({ code: 1, output: `${error?.stack ?? error}\n` }));
    return { name, code, output, ms: Date.now() - started };
  }),
);
for (const { name, code, output, ms } of results) {
  process.stdout.write(`\n> ${name}: ${code === 0 ? 'ok' : `failed (exit ${code})`} in ${(ms / 1000).toFixed(1)} s\n${output}`);
}
const failed = results.find((result) => result.code !== 0);
process.exit(failed ? failed.code : 0);
