/**
 * `npm run cameras [-- CONFIG.json] [--port N] [--host ADDR]`: runs the RTSP camera simulator
 * (scripts/camsim/camsim.py) with config/cameras.json (or CONFIG.json), prints the RTSP URLs and
 * stops it on SIGINT/SIGTERM. Port: --port, else the config's "rtspPort", else 8554.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_CONFIG, Simulator, type SimulatorConfig } from './camsim/Simulator.ts';

function parseArgs(argv: string[]): { config: string; port?: number; host?: string } {
  let config = DEFAULT_CONFIG;
  let port: number | undefined;
  let host: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--port') port = Number(argv[++i]);
    else if (a === '--host') host = argv[++i];
    else if (a === '-h' || a === '--help') {
      console.log('usage: cameras.ts [CONFIG.json] [--port N] [--host ADDR]');
      process.exit(0);
    } else config = path.resolve(a);
  }
  return { config, port, host };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const cfg = JSON.parse(readFileSync(args.config, 'utf8')) as SimulatorConfig;
  const sim = await Simulator.start({
    config: args.config,
    rtspPort: args.port ?? cfg.rtspPort ?? 8554,
    host: args.host,
    logTo: (line) => console.error(line),
  });
  const st = await sim.status();
  console.log(`camera simulator pid ${sim.pid}, control http://127.0.0.1:${sim.controlPort}/status`);
  for (const cam of st.cameras) {
    if (cam.bulk && cam.id !== `${cam.bulk}1`) continue; // one line per bulk group
    const what = cam.codec === 'mjpeg' ? 'mjpeg' : `h264 ${cam.profile}${cam.bframes ? ` +${cam.bframes}B` : ''}`;
    const extra = [cam.stamped ? 'stamped' : '', cam.auth ? `auth ${cam.auth}` : '', cam.tag !== null ? `tag ${cam.tag}` : '']
      .filter(Boolean)
      .join(', ');
    const bulkNote = cam.bulk ? ` (bulk: ${st.cameras.filter((c) => c.bulk === cam.bulk).length} mounts ${cam.bulk}N)` : '';
    console.log(`  ${sim.url(cam.id)}  ${what} ${cam.width}x${cam.height}@${cam.fps}${extra ? ` [${extra}]` : ''}${bulkNote}`);
  }
  let stopping = false;
  const shutdown = (sig: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`${sig}: stopping camera simulator`);
    void sim.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  await sim.exited;
  if (!stopping) {
    console.error('camera simulator exited unexpectedly\n' + sim.logTail());
    process.exit(1);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
