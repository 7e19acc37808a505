// Runs a command with MEDIASOUP_WORKER_BIN and FFMPEG_BIN set before anything loads mediasoup or
// ffmpeg-static: mediasoup 3.12 reads its worker path once, when the module is first imported.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { workerBinPath, ffmpegPath, projectRoot } from './toolchain.mjs';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: with-env.mjs COMMAND [ARGS...]');
  process.exit(2);
}
const workerBin = process.env.MEDIASOUP_WORKER_BIN ?? workerBinPath();
if (!existsSync(workerBin)) {
  console.error(`mediasoup worker not found at ${workerBin}: run ./scripts/bootstrap.sh first`);
  process.exit(1);
}
const env = {
  ...process.env,
  MEDIASOUP_WORKER_BIN: workerBin,
  FFMPEG_BIN: process.env.FFMPEG_BIN ?? ffmpegPath(),
  PATH: `${join(projectRoot, 'node_modules', '.bin')}:${process.env.PATH}`,
};
const child = spawn(command, args, { stdio: 'inherit', env });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
