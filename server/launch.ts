/**
 * The production entry (`node dist/server/launch.js`, the image's CMD): sets MEDIASOUP_WORKER_BIN
 * and FFMPEG_BIN when unset, checks the worker binary exists, and only then loads the server
 * (server/index.ts): mediasoup 3.12 reads MEDIASOUP_WORKER_BIN once, when it is first imported,
 * so the import must come after the environment is set, hence dynamic.
 */
import { setToolchainEnvironmentOrExit } from './toolchain.ts';

setToolchainEnvironmentOrExit();
await import('./index.ts');
