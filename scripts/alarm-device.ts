/**
 * A panic button on the command line: sends one signed alarm (or heartbeat) to a C5 Live server, as
 * a device does (server/alarms/AlarmSignature.ts). For installers and for trying the alarm path.
 *
 *   ALARM_DEVICE_KEY=<64 hex digits> npm run alarm -- --device BTN-0001 [--url http://localhost:8080]
 *       [--heartbeat] [--lat=19.4326 --lng=-99.1332 [--accuracy=15]] [--note "text"]
 *
 * The key comes from the environment, never the command line (other users of the machine can read
 * command lines). Negative coordinates need the `--lng=-99.13` form. Prints the server's answer; exits 1 when it refused.
 */
import { parseArgs } from 'node:util';
import { signedHeaders } from '../server/alarms/AlarmSignature.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://localhost:8080' },
    device: { type: 'string' },
    heartbeat: { type: 'boolean', default: false },
    lat: { type: 'string' },
    lng: { type: 'string' },
    accuracy: { type: 'string' },
    note: { type: 'string' },
  },
});
const keyHex = process.env.ALARM_DEVICE_KEY?.trim().toLowerCase();
if (!values.device || !keyHex || !/^[0-9a-f]{64}$/.test(keyHex)) {
  console.error('usage: ALARM_DEVICE_KEY=<64 hex digits> npm run alarm -- --device CODE [--url URL] [--heartbeat] [--lat=N --lng=N [--accuracy=M]] [--note TEXT]');
  process.exit(2);
}
const position =
  values.lat !== undefined && values.lng !== undefined
    ? { lat: Number(values.lat), lng: Number(values.lng), ...(values.accuracy !== undefined && { accuracyM: Number(values.accuracy) }) }
    : undefined;
const body = JSON.stringify({ type: values.heartbeat ? 'heartbeat' : 'alarm', ...(position && { position }), ...(values.note && { note: values.note }) });
const url = new URL('/api/alarms', values.url);
const started = performance.now();
const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...signedHeaders({ deviceCode: values.device, keyHex, body, path: url.pathname }) }, body });
console.log(`${response.status} in ${Math.round(performance.now() - started)} ms: ${await response.text()}`);
process.exit(response.ok ? 0 : 1);
