// Runs a command (mocha, tsx scripts, benchmarks) with MEDIASOUP_WORKER_BIN and FFMPEG_BIN set
// before anything loads mediasoup or ffmpeg-static: mediasoup 3.12 reads its worker path once, when
// the module is first imported. The values come from server/toolchain.ts, the same code the
// production launcher (server/launch.ts) runs; tsx loads it from source here (development only).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

const { setToolchainEnvironment, ToolchainError, projectRoot } = await tsImport('../server/toolchain.ts', import.meta.url);

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: with-env.mjs COMMAND [ARGS...]');
  process.exit(2);
}
const env = { ...process.env, PATH: `${join(projectRoot, 'node_modules', '.bin')}:${process.env.PATH}` };
try {
  setToolchainEnvironment(env);
} catch (error) {
  if (!(error instanceof ToolchainError)) throw error;
  console.error(error.message);
  process.exit(1);
}
const child = spawn(command, args, { stdio: 'inherit', env });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
