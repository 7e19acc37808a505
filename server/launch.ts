/**
 * The production entry (`node dist/server/launch.js`, the image's CMD): sets MEDIASOUP_WORKER_BIN
 * and FFMPEG_BIN when unset, checks the worker binary exists, and only then loads the server
 * (server/index.ts): mediasoup 3.12 reads MEDIASOUP_WORKER_BIN once, when it is first imported,
 * so the import must come after the environment is set, hence dynamic.
 */
import { setToolchainEnvironment, ToolchainError } from './toolchain.ts';

try {
  setToolchainEnvironment();
} catch (error) {
  if (!(error instanceof ToolchainError)) throw error;
  console.error(`C5 Live cannot start: ${error.message}`);
  process.exit(1);
}
await import('./index.ts');
