import { io, type Socket } from 'socket.io-client';
import type { Ack, ClientToServerEvents, RequestName, RequestPayload, ResponseMap, ServerToClientEvents } from '../../server/signalling/protocol.ts';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** A Node Socket.IO client speaking the console's protocol, for signalling tests. */
export async function connectClient(baseUrl: string, token: string): Promise<ClientSocket> {
  const socket: ClientSocket = io(baseUrl, { path: '/socket.io', auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (error) => {
      socket.close();
      reject(error);
    });
  });
  return socket;
}

/** Sends a request (any payload, valid or not) and returns the acknowledgement. */
export function request<K extends RequestName>(socket: ClientSocket, name: K, payload: RequestPayload<K> | unknown): Promise<Ack<ResponseMap[K]>> {
  return new Promise((resolve, reject) => {
    const emit = socket.timeout(10_000).emit as unknown as (event: string, payload: unknown, ack: (err: Error | null, answer: Ack<ResponseMap[K]>) => void) => void;
    emit.call(socket.timeout(10_000), name, payload, (err, answer) => (err ? reject(err) : resolve(answer)));
  });
}

/** The result of a request that must succeed. */
export async function ok<K extends RequestName>(socket: ClientSocket, name: K, payload: RequestPayload<K>): Promise<ResponseMap[K]> {
  const answer = await request(socket, name, payload);
  if (answer.error) throw new Error(`${name} failed: ${answer.error.code}: ${answer.error.message}`);
  return answer as ResponseMap[K];
}
