/**
 * An ingest worker process (issue 20): started by IngestWorkerPool with a Node IPC channel, it
 * carries many cameras (IngestHost) and sends their RTP straight to mediasoup's PlainTransports.
 * Every message in is validated (workers/ingestProtocol.ts). It reports its CPU and memory every
 * second, and exits when the server's channel closes (setpriv's pdeathsig kills it with the server).
 */
import { readFileSync } from 'node:fs';
import { IngestHost } from './IngestHost.ts';
import { fromWorkerSchema, toWorkerSchema, type FromWorker } from './ingestProtocol.ts';

if (!process.send) {
  console.error('ingestWorker: start it through IngestWorkerPool (it needs an IPC channel)');
  process.exit(2);
}

/**
 * Sends a message after checking it against the protocol, as the server will: an answer that would
 * not validate (a camera's odd SDP value) is sent as a failure instead, an event is dropped.
 */
const send = (message: FromWorker): void => {
  if (!process.connected) return;
  // A batch's entries are checked one by one by the server (IngestWorker), which drops an invalid one alone.
  if (message.type === 'progressBatch') {
    process.send!(message);
    return;
  }
  const checked = fromWorkerSchema.safeParse(message);
  if (checked.success) {
    process.send!(checked.data);
    return;
  }
  if ('id' in message && typeof message.id === 'number') {
    process.send!({ type: 'failed', id: message.id, error: { reason: 'exited', message: `the ingest worker's answer was invalid: ${checked.error.issues[0]?.path.join('.') ?? ''} ${checked.error.issues[0]?.message ?? ''}`.slice(0, 2000) } } satisfies FromWorker);
  }
};
const host = new IngestHost(send);
let rejected = 0;

process.on('message', (raw) => {
  const parsed = toWorkerSchema.safeParse(raw);
  if (!parsed.success) {
    rejected++;
    // A request that does not parse is still answered, so the server does not wait for it.
    const id = (raw as { id?: unknown } | null)?.id;
    if (typeof id === 'number' && Number.isInteger(id) && id >= 0) send({ type: 'failed', id, error: { reason: 'exited', message: `invalid request to the ingest worker: ${parsed.error.issues[0]?.message ?? 'malformed'}` } });
    return;
  }
  host.handle(parsed.data);
});

const stats = setInterval(() => {
  const cpu = process.cpuUsage();
  send({ type: 'stats', cameras: host.cameras, cpuMicros: cpu.user + cpu.system, residentBytes: process.memoryUsage.rss(), privateBytes: privateBytes() });
}, 1000);

let exiting = false;
const exit = () => {
  if (exiting) return;
  exiting = true;
  clearInterval(stats);
  void host.closeAll().finally(() => process.exit(0));
  // Stopping cameras must not keep a dying worker alive.
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on('disconnect', exit);
process.on('SIGTERM', exit);
process.on('uncaughtException', (error) => {
  // A fault in one camera's code must not leave the others half-served: the worker dies, the pool replaces it.
  console.error(`ingest worker ${process.pid}: uncaught exception (${rejected} invalid messages so far)`, error);
  process.exit(70);
});

send({ type: 'ready' });

/** Private memory (Private_Clean + Private_Dirty, /proc/self/smaps_rollup), in bytes. */
function privateBytes(): number {
  try {
    const text = readFileSync('/proc/self/smaps_rollup', 'utf8');
    let kib = 0;
    for (const match of text.matchAll(/^Private_(?:Clean|Dirty):\s+(\d+) kB/gm)) kib += Number(match[1]);
    return kib * 1024;
  } catch {
    return 0;
  }
}
