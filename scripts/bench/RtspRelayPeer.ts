/**
 * The rtsp-relay baseline (benchmarks only, DESIGN.md): a small express + express-ws server on a
 * free loopback port that relays one RTSP URL as MPEG-1/MPEG-TS over a WebSocket with rtsp-relay,
 * and a page that plays it with JSMpeg into a 2D canvas.
 *
 *   const relay = await RtspRelayPeer.start({ rtspUrl: sim.url('cam-stamped') });
 *   page.goto(relay.pageUrl)   // the page calls window.onRelayFrame(canvas) after every decoded frame
 *   await relay.close();
 *
 * Everything the page loads is served from node_modules, never from a CDN: JSMpeg (the UMD build
 * of @cycjimmy/jsmpeg-player, which defines window.JSMpeg) is loaded BEFORE rtsp-relay's browser
 * script, which then skips its CDN import. rtsp-relay spawns one `ffmpeg -rtsp_transport tcp -i URL
 * -f mpegts -codec:v mpeg1video -r 30 -` per URL when the first WebSocket client arrives and
 * SIGTERMs it when the last one leaves. It spawns ffmpeg-static's path, which is FFMPEG_BIN.
 *
 * rtsp-relay keeps a module-level express-ws instance bound to the FIRST app it was given, so only
 * one RtspRelayPeer can exist per process (start() refuses a second one).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { ffmpegPath } from '../../server/toolchain.ts';
import { descendants } from '../camsim/Simulator.ts';
import { processArgv, sleep } from './host.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(ROOT, 'package.json'));

type RelayFactory = typeof import('rtsp-relay');
type WsHandler = ReturnType<ReturnType<RelayFactory>['proxy']>;

/** Directory of an installed package (its "exports" may hide package.json and dist files). */
function packageDir(name: string): string {
  let dir = dirname(require.resolve(name));
  for (;;) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string }).name === name) return dir;
    } catch {
      /* no package.json here */
    }
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find the directory of package ${name}`);
    dir = up;
  }
}

export interface RtspRelayPeerOptions {
  /** Relayed on /stream (the page at /). */
  rtspUrl: string;
  /** More cameras by key: relayed on /stream/<key>, played by the page at /?stream=<key>. */
  more?: Record<string, string>;
  /** Loopback port; default 0 = a free one. */
  port?: number;
  /** rtsp-relay's own console logging. */
  verbose?: boolean;
}

let created = false;

const page = (title: string) => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${title}</title>
<style>html,body{margin:0;background:#000}canvas{display:block}</style>
<script src="/vendor/jsmpeg.js"></script>
<script src="/vendor/rtsp-relay.js"></script>
</head>
<body>
<canvas id="video" width="640" height="360"></canvas>
<script>
(() => {
  const canvas = document.getElementById('video');
  window.relayState = 'loading';
  window.loadPlayer({
    url: (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/stream' + (new URLSearchParams(location.search).get('stream') ? '/' + new URLSearchParams(location.search).get('stream') : ''),
    canvas,
    disableGl: true,
    audio: false,
    onVideoDecode: () => { if (window.onRelayFrame) window.onRelayFrame(canvas); },
  }).then(
    () => { window.relayState = 'playing'; },
    (error) => { window.relayState = 'failed: ' + error; },
  );
})();
</script>
</body>
</html>
`;

export class RtspRelayPeer {
  #closing: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly sockets: Set<Socket>,
    readonly port: number,
  ) {}

  /** The player page. */
  get pageUrl(): string {
    return `http://127.0.0.1:${this.port}/`;
  }

  /** The player page of one of the `more` cameras. */
  playerUrl(key: string): string {
    return `http://127.0.0.1:${this.port}/?stream=${encodeURIComponent(key)}`;
  }

  /** The WebSocket a player reads MPEG-TS from (`key`: one of the `more` cameras). */
  streamUrl(key?: string): string {
    return `ws://127.0.0.1:${this.port}/stream${key ? `/${key}` : ''}`;
  }

  static async start(opts: RtspRelayPeerOptions): Promise<RtspRelayPeer> {
    if (created) throw new Error('rtsp-relay binds to the first express app it sees: one RtspRelayPeer per process');
    created = true;
    // ffmpeg-static reads FFMPEG_BIN when it is first required (by rtsp-relay, below).
    process.env.FFMPEG_BIN ??= ffmpegPath();
    const jsmpeg = readFileSync(join(packageDir('@cycjimmy/jsmpeg-player'), 'dist', 'jsmpeg-player.umd.min.js'), 'utf8');
    const relayScript = readFileSync(join(packageDir('rtsp-relay'), 'browser', 'index.js'), 'utf8');

    const app = express();
    const server = createServer(app);
    const relay = (require('rtsp-relay') as RelayFactory)(app, server);
    const handler: WsHandler = relay.proxy({ url: opts.rtspUrl, transport: 'tcp', verbose: opts.verbose ?? false });
    const ws = (app as unknown as { ws(route: string, h: WsHandler): void }).ws.bind(app);
    ws('/stream', handler);
    for (const [key, url] of Object.entries(opts.more ?? {})) {
      if (!/^[a-z0-9-]+$/i.test(key)) throw new Error(`rtsp-relay stream key ${key}: letters, digits and - only`);
      ws(`/stream/${key}`, relay.proxy({ url, transport: 'tcp', verbose: opts.verbose ?? false }));
    }

    const js = (body: string) => (_req: express.Request, res: express.Response) => {
      res.type('application/javascript').set('cache-control', 'no-store').send(body);
    };
    app.get('/vendor/jsmpeg.js', js(jsmpeg));
    app.get('/vendor/rtsp-relay.js', js(relayScript));
    app.get('/', (_req, res) => {
      res.type('html').set('cache-control', 'no-store').send(page('rtsp-relay baseline'));
    });

    // Upgraded WebSocket connections are no longer tracked by the HTTP server: keep our own list
    // so close() can end them (which makes rtsp-relay stop its ffmpeg).
    const sockets = new Set<Socket>();
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    return new RtspRelayPeer(server, sockets, port);
  }

  /** Pids of the relay's ffmpeg processes (children of this process encoding MPEG-1); of one camera with `rtspUrl`. */
  static ffmpegPids(rtspUrl?: string): number[] {
    const pids: number[] = [];
    for (const pid of descendants(process.pid)) {
      const argv = processArgv(pid);
      if (/ffmpeg/.test(argv[0] ?? '') && argv.includes('mpeg1video') && (!rtspUrl || argv.includes(rtspUrl))) pids.push(pid);
    }
    return pids;
  }

  /** Ends every connection (rtsp-relay SIGTERMs its ffmpeg), SIGKILLs any ffmpeg left, closes the server. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const socket of this.sockets) socket.destroy();
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
      const deadline = Date.now() + 3000;
      while (RtspRelayPeer.ffmpegPids().length > 0 && Date.now() < deadline) await sleep(50);
      for (const pid of RtspRelayPeer.ffmpegPids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    })();
    return this.#closing;
  }
}
