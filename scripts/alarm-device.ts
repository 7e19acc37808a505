/**
 * A panic button or an alarm panel on the command line: sends one signed HTTP alarm (or heartbeat)
 * to a C5 Live server as a device does (server/alarms/AlarmSignature.ts), or one SIA DC-09 frame as
 * a panel does (server/alarms/dc09/Dc09Frame.ts), and prints the answer. For installers and for
 * trying the alarm path.
 *
 *   ALARM_DEVICE_KEY=<64 hex digits> npm run alarm -- --device BTN-0001 [--url http://localhost:8080]
 *       [--heartbeat] [--lat=19.4326 --lng=-99.1332 [--accuracy=15]] [--note "text"]
 *
 *   [ALARM_DEVICE_KEY=<AES key, hex>] npm run alarm -- --dc09 tcp|udp --account 1234 [--host localhost]
 *       [--port 12128] [--event "1120 01 015" | --sia "Nri1/PA501" | --null] [--sequence 1]
 *
 * Keys come from the environment, never the command line (other users of the machine can read
 * command lines); a DC-09 frame is encrypted when ALARM_DEVICE_KEY is set. Negative coordinates need
 * the `--lng=-99.13` form. Exits 1 when the server refused, 2 on bad arguments.
 */
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { parseArgs } from 'node:util';
import { signedHeaders } from '../server/alarms/AlarmSignature.ts';
import { encodeFrame, openPayload, readEnvelope } from '../server/alarms/dc09/Dc09Frame.ts';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'http://localhost:8080' },
    device: { type: 'string' },
    heartbeat: { type: 'boolean', default: false },
    lat: { type: 'string' },
    lng: { type: 'string' },
    accuracy: { type: 'string' },
    note: { type: 'string' },
    dc09: { type: 'string' },
    account: { type: 'string' },
    host: { type: 'string', default: 'localhost' },
    port: { type: 'string', default: '12128' },
    event: { type: 'string' },
    sia: { type: 'string' },
    null: { type: 'boolean', default: false },
    sequence: { type: 'string', default: '1' },
  },
});
const keyHex = process.env.ALARM_DEVICE_KEY?.trim();
const usage = (message: string): never => {
  console.error(`${message}\nusage: see the comment at the top of scripts/alarm-device.ts`);
  process.exit(2);
};

if (values.dc09 !== undefined) await sendDc09();
else await sendHttp();

async function sendHttp(): Promise<void> {
  if (!values.device || !keyHex || !/^[0-9a-fA-F]{64}$/.test(keyHex)) usage('HTTP: --device and ALARM_DEVICE_KEY (64 hex digits) are needed');
  const position =
    values.lat !== undefined && values.lng !== undefined
      ? { lat: Number(values.lat), lng: Number(values.lng), ...(values.accuracy !== undefined && { accuracyM: Number(values.accuracy) }) }
      : undefined;
  const body = JSON.stringify({ type: values.heartbeat ? 'heartbeat' : 'alarm', ...(position && { position }), ...(values.note && { note: values.note }) });
  const url = new URL('/api/alarms', values.url);
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...signedHeaders({ deviceCode: values.device!, keyHex: keyHex!.toLowerCase(), body, path: url.pathname }) }, body });
  console.log(`${response.status} in ${Math.round(performance.now() - started)} ms: ${await response.text()}`);
  process.exit(response.ok ? 0 : 1);
}

async function sendDc09(): Promise<void> {
  const transport = values.dc09;
  if (transport !== 'tcp' && transport !== 'udp') usage('--dc09 is tcp or udp');
  if (!values.account || !/^[0-9A-Fa-f]{3,16}$/.test(values.account)) usage('--account: 3-16 hex digits');
  const token = values.null ? 'NULL' : values.sia !== undefined ? 'SIA-DCS' : 'ADM-CID';
  const data = token === 'NULL' ? '' : `#${values.account!.toUpperCase()}|${values.sia ?? values.event ?? '1120 01 001'}`;
  const frame = encodeFrame(
    { token, encrypted: keyHex !== undefined, sequence: String(Number(values.sequence) % 10_000).padStart(4, '0'), linePrefix: '0', account: values.account!, content: { data, extended: [], timestamp: new Date() } },
    { ...(keyHex && { keyHex }) },
  );
  const started = performance.now();
  const answer = await (transport === 'tcp' ? overTcp(frame) : overUdp(frame));
  const ms = Math.round(performance.now() - started);
  if (!answer) {
    console.log(`no answer in 5 s (a bad CRC or length, a rate limit, or nothing listening on ${values.host}:${values.port})`);
    process.exit(1);
  }
  const read = readEnvelope(answer);
  if (!read.ok) {
    console.log(`an unreadable answer in ${ms} ms: ${read.message}`);
    process.exit(1);
  }
  const opened = read.envelope.encrypted ? openPayload(read.envelope, keyHex) : openPayload(read.envelope);
  const at = opened.ok && opened.content.timestamp ? ` (receiver's time ${opened.content.timestamp.toISOString()})` : '';
  console.log(`${read.envelope.token} in ${ms} ms${at}`);
  process.exit(read.envelope.token === 'ACK' ? 0 : 1);
}

function overTcp(frame: Buffer): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: values.host!, port: Number(values.port) });
    const chunks: Buffer[] = [];
    const done = (answer: Buffer | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), 5000);
    socket.on('connect', () => socket.write(frame));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      const all = Buffer.concat(chunks);
      const end = all.indexOf(0x0d);
      if (end >= 0) done(all.subarray(all.indexOf(0x0a), end + 1));
    });
    socket.on('error', () => done(undefined));
  });
}

function overUdp(frame: Buffer): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const done = (answer: Buffer | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), 5000);
    socket.on('message', (message) => done(message));
    socket.on('error', () => done(undefined));
    socket.send(frame, Number(values.port), values.host!);
  });
}
