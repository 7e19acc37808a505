/**
 * Failures the fuzz found, as concrete requests replayed by test/integration/fuzz.test.ts: each
 * stays here once fixed, so it cannot come back. Add one with the shrunk input `npm run fuzz` prints.
 */
import type { Role } from '../../../server/auth/Identity.ts';
import type { Caller } from './entryPoints.ts';
import type { RawBody } from './arbitraries.ts';
import { frameOf, type Dc09Case } from './dc09Arbitraries.ts';

export type Regression =
  | { name: string; found: string; kind: 'rest'; method: string; path: string; caller: Caller; body?: RawBody }
  | { name: string; found: string; kind: 'socket'; event: string; role: Role; payload: unknown; noAck?: boolean }
  | { name: string; found: string; kind: 'dc09'; transport: 'codec' | 'tcp' | 'udp'; input: Dc09Case };

export const regressions: Regression[] = [
  {
    name: 'a JSON body over the 100 kb limit answers an error code the OpenAPI document lists (413 payload_too_large)',
    found: 'seed 1717, POST /api/auth/login path 0:0:0:0:0:0:0:0:0 (and every endpoint with a body)',
    kind: 'rest',
    method: 'POST',
    path: '/api/auth/login',
    caller: 'none',
    body: { text: JSON.stringify({ username: 'a'.repeat(110 * 1024), password: 'x' }), contentType: 'application/json' },
  },
  {
    name: 'an oversized body on DELETE answers a listed error code',
    found: 'seed 1717, DELETE /api/cameras/{code} path 4:0:0:0:0',
    kind: 'rest',
    method: 'DELETE',
    path: '/api/cameras/..',
    caller: 'none',
    body: { text: JSON.stringify('a'.repeat(102_400)), contentType: 'application/json' },
  },
  {
    name: 'a listCameras payload over the socket message limit does not take the server down',
    found: 'seed 1717, socket listCameras path 4:0:0:3:0:1:1:1:1:4:1:2:4:3:3:3:3:3:3:3:3 (dropped by design: maxHttpBufferSize)',
    kind: 'socket',
    event: 'listCameras',
    role: 'admin',
    payload: { health: { ['a'.repeat(102_400)]: 'é'.repeat(51_200), b: '\u{1F600}'.repeat(25_600) } },
    noAck: true,
  },
  {
    name: 'DC-09 over TCP: a frame starting at the first byte of a read, after a frame cut short, is read on its own (not glued to the cut one)',
    found: 'seed 42, dc09 codec (Dc09FrameReader skipped an LF at the start of a chunk continuing a frame: the new frame was dropped with the cut one)',
    kind: 'dc09',
    transport: 'codec',
    input: { pieces: [Buffer.from('\n0000003A"ADM-CID"0007L0#FB0', 'latin1'), frameOf('"NULL"0008L0#FB0002[]')], cuts: [28] },
  },
];
