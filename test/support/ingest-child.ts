// A server process for the SIGKILL test: starts the app with one camera, watches it, prints the
// pids of its ffmpeg, its ingest workers and its mediasoup workers, and waits to be killed.
import { startTestApp } from './pipelineApp.ts';

const url = process.argv[2];
if (!url) throw new Error('usage: ingest-child.ts RTSP_URL');
// The ffmpeg engine: this child exists to show that ffmpeg processes die with a killed server.
const t = await startTestApp({ cameras: [{ id: 'cam-kill', name: 'cam-kill', url, engine: 'ffmpeg' }] });
await t.app.cameras.acquire('cam-kill');
const ffmpegPid = t.app.cameras.session('cam-kill')?.ingestPid;
console.log(JSON.stringify({ ffmpegPid, workerPids: t.app.media.workers.map((w) => w.pid), ingestWorkerPids: t.app.ingestWorkers?.workers().map((w) => w.pid) ?? [] }));
setInterval(() => undefined, 1 << 30);
