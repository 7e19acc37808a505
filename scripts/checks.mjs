// The checks `npm test` runs before mocha, at once (two cores: the build's tsc and the typecheck's
// tsc overlap): the build (dist/, which the e2e tests serve), the typecheck and the dependency
// rules. Each one's output is printed whole when it ends; the exit code is the first failure's.
import { spawn } from 'node:child_process';

const steps = [
  ['build', ['npm', 'run', '--silent', 'build']],
  ['typecheck', ['npm', 'run', '--silent', 'typecheck']],
  ['deps', ['npm', 'run', '--silent', 'deps']],
];

const results = await Promise.all(
  steps.map(
    ([name, [command, ...args]]) =>
      new Promise((resolve) => {
        const started = Date.now();
        const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (chunk) => (output += chunk));
        child.stderr.on('data', (chunk) => (output += chunk));
        child.once('error', (error) => resolve({ name, code: 1, output: `${output}${error.message}\n`, ms: Date.now() - started }));
        child.once('close', (code) => resolve({ name, code: code ?? 1, output, ms: Date.now() - started }));
      }),
  ),
);
for (const { name, code, output, ms } of results) {
  process.stdout.write(`\n> ${name}: ${code === 0 ? 'ok' : `failed (exit ${code})`} in ${(ms / 1000).toFixed(1)} s\n${output}`);
}
const failed = results.find((result) => result.code !== 0);
process.exit(failed ? failed.code : 0);
