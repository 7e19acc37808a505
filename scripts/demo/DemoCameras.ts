import { readFileSync } from 'node:fs';
import net from 'node:net';
import { resolve } from 'node:path';
import type { Logger } from '../../server/logging/createLogger.ts';
import type { ConfigCamera } from '../../server/config/schema.ts';
import { Simulator, type CameraConfig, type SimulatorConfig } from '../camsim/Simulator.ts';

const names: Record<string, string> = {
  'cam-stamped': 'Demo 1 · Clock-stamped (Baseline)',
  'cam-main': 'Demo 2 · Main profile',
  'cam-high': 'Demo 3 · High profile 720p (passed through), 360p substream',
  'cam-bframes': 'Demo 4 · B-frames (transcoded)',
  'cam-mjpeg': 'Demo 5 · MJPEG (transcoded)',
  'cam-secure': 'Demo 6 · Digest credentials',
};

/** The bundled RTSP camera simulator, started for development demos, and the cameras it serves. */
export class DemoCameras {
  private constructor(
    readonly simulator: Simulator,
    readonly cameras: ConfigCamera[],
  ) {}

  static async start(configPath: string, logger: Logger): Promise<DemoCameras> {
    const config = JSON.parse(readFileSync(resolve(configPath), 'utf8')) as SimulatorConfig;
    // The configured port (8554: one the citizen enrolment page allows, so a demo camera can be
    // enrolled) when free; else a free one, so a second copy or a busy 8554 never stops the demo.
    const wanted = config.rtspPort ?? 8554;
    const rtspPort = (await portIsFree(wanted)) ? wanted : 0;
    const simulator = await Simulator.start({ config: { ...config, rtspPort }, rtspPort, logTo: (line) => logger.debug({ simulator: line }) });
    const cameras: ConfigCamera[] = [];
    const ids = new Set(config.cameras.flatMap((entry) => ('id' in entry ? [(entry as CameraConfig).id] : [])));
    for (const entry of config.cameras) {
      if (!('id' in entry)) continue;
      const camera = entry as CameraConfig;
      // A mount named <id>-sub is the substream of camera <id> (a camera's second, smaller profile).
      if (camera.id.endsWith('-sub') && ids.has(camera.id.slice(0, -4))) continue;
      cameras.push({
        id: camera.id,
        name: names[camera.id] ?? camera.id,
        url: simulator.url(camera.id),
        ...(ids.has(`${camera.id}-sub`) && { substreamUrl: simulator.url(`${camera.id}-sub`) }),
        transport: 'tcp',
        alwaysOn: false,
        area: camera.id.includes('secure') ? 'citizen' : 'agency',
        ...(camera.auth && { username: camera.auth.user, password: camera.auth.password }),
      });
    }
    logger.info({ rtspPort: simulator.rtspPort, cameras: cameras.length }, 'demo camera simulator started');
    return new DemoCameras(simulator, cameras);
  }

  close(): Promise<void> {
    return this.simulator.stop();
  }
}

/** Whether nothing listens on 127.0.0.1:`port` now (the simulator binds every interface). */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '0.0.0.0', () => probe.close(() => resolve(true)));
  });
}
