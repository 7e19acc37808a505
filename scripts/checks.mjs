// The checks `npm test` runs with mocha: the build first (dist/, which the e2e tests serve), then
// the typecheck and the dependency rules at the same time as the command after `--` (mocha: its
// first minute is unit tests, which do not measure time, so the typecheck's tsc costs them little
// and the suite no longer waits half a minute for it). Each check's output is printed whole when
// everything has ended; the exit code is the command's, else the first failed check's.
// Without `--`, the three checks run at once and nothing else.
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

const separator = process.argv.indexOf('--');
const command = separator === -1 ? [] : process.argv.slice(separator + 1);

const build = ['build', () => buildAndStamp({ ifChanged: true, stdio: 'pipe' })];
const others = [
  ['typecheck', () => run('npm', ['run', '--silent', 'typecheck'])],
  ['deps', () => run('npm', ['run', '--silent', 'deps'])],
];

function timed([name, step]) {
  const started = Date.now();
  return step()
    .catch((error) => ({ code: 1, output: `${error?.stack ?? error}\n` }))
    .then(({ code, output }) => ({ name, code, output, ms: Date.now() - started }));
}

function report(results) {
  for (const { name, code, output, ms } of results) {
    process.stdout.write(`\n> ${name}: ${code === 0 ? 'ok' : `failed (exit ${code})`} in ${(ms / 1000).toFixed(1)} s\n${output}`);
  }
  return results.find((result) => result.code !== 0);
}

if (command.length === 0) {
  const failed = report(await Promise.all([build, ...others].map(timed)));
  process.exit(failed ? failed.code : 0);
}

const built = await timed(build);
if (built.code !== 0) {
  report([built]);
  process.exit(built.code);
}
const checks = Promise.all(others.map(timed));
const commandCode = await new Promise((resolve) => {
  const child = spawn(command[0], command.slice(1), { stdio: 'inherit' });
  child.once('error', (error) => {
    process.stderr.write(`${command.join(' ')}: ${error.message}\n`);
    resolve(1);
  });
  child.once('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
});
const failed = report([built, ...(await checks)]);
process.exit(commandCode !== 0 ? commandCode : failed ? failed.code : 0);
