// The server entry: no simulator, no demo accounts (the demo is scripts/demo.ts). Run it through
// the launcher (server/launch.ts), which sets the mediasoup worker's path before mediasoup loads.
import { serve } from './serve.ts';

await serve({
  ready: (app) => console.log(`C5 Live listening on ${app.consoleUrl}`),
});
