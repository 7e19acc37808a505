/**
 * The C5 Live operator console: signs in, connects the signalling and the media, and wires the
 * camera list to the wall. Each piece lives in its own class; this file only connects them.
 */
import { CameraList } from './CameraList.ts';
import { ConsoleView } from './ConsoleView.ts';
import { MediaReceiver, type IceProtocol } from './MediaReceiver.ts';
import { Session, SignInError } from './Session.ts';
import { SignallingClient } from './SignallingClient.ts';
import type { TileState } from './Tile.ts';
import { Wall } from './Wall.ts';

/** What browser tests read (window.c5). */
export interface ConsoleHooks {
  handlerName: () => string | undefined;
  tiles: () => Array<{
    cameraId: string | undefined;
    state: TileState;
    reason: string | undefined;
    videoWidth: number;
    videoHeight: number;
    transport: IceProtocol | undefined;
  }>;
  readonly ready: boolean;
  readonly signedIn: boolean;
  /** The connection indicator's state: starting, connecting, connected, reconnecting, signed-out. */
  readonly connection: string;
}

declare global {
  interface Window {
    c5: ConsoleHooks;
  }
}

/** After a failed media set-up on a live connection, reconnect after this long. */
const SETUP_RETRY_MS = 2000;

async function main(): Promise<void> {
  // A console link opened in a tab that already shows the console changes only the hash: start over with it.
  window.addEventListener('hashchange', () => {
    if (/(^#|&)code=/.test(window.location.hash)) window.location.reload();
  });
  const view = new ConsoleView();
  const session = new Session(sessionStorage);
  let signalling: SignallingClient | undefined;
  let receiver: MediaReceiver | undefined;
  let wall: Wall | undefined;
  let ready = false;
  let connection = 'starting';

  const setConnection = (state: Parameters<ConsoleView['setConnection']>[0], detail?: string): void => {
    connection = state;
    view.setConnection(state, detail);
  };

  window.c5 = {
    handlerName: () => receiver?.handlerName,
    tiles: () =>
      (wall?.tiles() ?? []).map((tile) => ({
        cameraId: tile.cameraId,
        state: tile.state,
        reason: tile.reason,
        videoWidth: tile.videoWidth,
        videoHeight: tile.videoHeight,
        transport: tile.state === 'live' ? receiver?.protocol : undefined,
      })),
    get ready() {
      return ready;
    },
    get signedIn() {
      return session.signedIn;
    },
    get connection() {
      return connection;
    },
  };

  let signInFailure: string | undefined;
  try {
    await session.signInFromLocation(window.location, window.history);
  } catch (error) {
    signInFailure = error instanceof SignInError ? `sign-in failed: ${error.message}` : 'sign-in failed';
  }
  const showSignedOut = (reason?: string): void => {
    connection = 'signed-out';
    view.showSignedOut(reason);
  };
  if (!session.signedIn) {
    showSignedOut(signInFailure);
    return;
  }

  view.showConsole();
  setConnection('connecting');
  const client = new SignallingClient(() => session.token);
  const media = new MediaReceiver(client, { tcpOnly: new URLSearchParams(window.location.search).get('transport') === 'tcp' });
  const cameras = new CameraList(view.cameraListElement, (query) => client.request('listCameras', query));
  const videoWall = new Wall(
    view.wallElement,
    {
      receiver: media,
      online: () => client.connected && media.ready,
      cameraName: (id) => cameras.name(id),
    },
    localStorage,
  );
  signalling = client;
  receiver = media;
  wall = videoWall;
  view.setLayout(videoWall.layout);

  view.on('layout', (layout) => {
    videoWall.setLayout(layout);
    view.setLayout(layout);
  });
  cameras.on('pick', (cameraId) => videoWall.assign(cameraId));

  // Bumped at every disconnection so a set-up still running for an older connection stops.
  let connectionEpoch = 0;
  let filledOnce = videoWall.restored;

  client.on('connected', () => {
    const epoch = ++connectionEpoch;
    void (async () => {
      try {
        await media.open();
        // The first page of the list (never the whole fleet); the wall fills from it the first time.
        const { cameras: firstPage } = await cameras.reload();
        if (epoch !== connectionEpoch) return;
        videoWall.refreshNames();
        if (!filledOnce) {
          filledOnce = true;
          videoWall.fill(firstPage.slice(0, videoWall.layout).map((camera) => camera.id));
        }
        ready = true;
        setConnection('connected');
        videoWall.online();
        // Tiles restored from an earlier session may show cameras outside the first page.
        void cameras.resolveNames(videoWall.tiles().map((tile) => tile.cameraId)).then((found) => {
          if (found && epoch === connectionEpoch) videoWall.refreshNames();
        });
      } catch (error) {
        if (epoch !== connectionEpoch) return;
        console.warn('console set-up failed; reconnecting', error);
        setConnection('reconnecting', 'set-up failed');
        setTimeout(() => {
          if (epoch === connectionEpoch) client.reconnect();
        }, SETUP_RETRY_MS);
      }
    })();
  });

  client.on('disconnected', () => {
    connectionEpoch++;
    ready = false;
    media.reset();
    videoWall.offline('connection lost');
    if (session.signedIn) setConnection('reconnecting');
  });

  client.on('authFailed', (message) => session.signOut(message));
  client.on('cameraState', (status) => {
    cameras.update(status);
    videoWall.cameraState(status);
  });
  client.on('cameraHealth', (event) => cameras.updateHealth(event));
  client.on('consumerClosed', (event) => videoWall.consumerClosed(event));

  // ICE/DTLS failed, or the server's transport went with its media worker: reconnecting the socket
  // makes the server close everything, then all is re-created.
  const rebuildMedia = (reason: string): void => {
    if (!client.connected) return;
    connectionEpoch++;
    ready = false;
    media.reset();
    videoWall.offline(reason);
    setConnection('reconnecting', 'media');
    client.reconnect();
  };
  media.on('failed', () => rebuildMedia('media connection lost'));
  client.on('transportClosed', (event) => {
    if (media.isCurrentTransport(event.transportId)) rebuildMedia('media server restarting');
  });

  session.on('signedOut', (reason) => {
    connectionEpoch++;
    ready = false;
    session.close();
    videoWall.stopAll('signed out', { notifyServer: false });
    media.reset();
    client.close();
    showSignedOut(reason);
  });
  view.on('signOut', () => session.signOut('you signed out'));

  session.startRefreshing(() => client.request('refreshToken', {}));
  window.addEventListener('pagehide', () => client.close());
  // Back/forward cache: the connection was closed on pagehide, so start again.
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) window.location.reload();
  });
  client.open();
}

void main().catch((error: unknown) => {
  console.error('the console failed to start', error);
});
