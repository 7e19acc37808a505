/**
 * The C5 Live operator console: signs in (username and password, or a console link), connects
 * the signalling and the media, and wires the camera list to the wall. Each piece lives in its
 * own class; this file only connects them. A sign-out (by the operator, or ended by the server)
 * tears the connected console down and shows the sign-in form; a new sign-in builds it again.
 */
import { AlarmConsole, type AlarmSoundSummary, type AlarmSummary } from './AlarmConsole.ts';
import { AlarmDevicesTab } from './AlarmDevicesTab.ts';
import { AlarmsApi } from './AlarmsApi.ts';
import { AlarmSound } from './AlarmSound.ts';
import { CameraList } from './CameraList.ts';
import { ConsoleView } from './ConsoleView.ts';
import { IncidentsApi } from './IncidentsApi.ts';
import type { IncidentSummary } from './IncidentsPanel.ts';
import { IncidentsTab } from './IncidentsTab.ts';
import { MediaReceiver, type IceProtocol } from './MediaReceiver.ts';
import { ReviewApi } from './ReviewApi.ts';
import { ReviewTab } from './ReviewTab.ts';
import { Session, SignInError, type UserInfo } from './Session.ts';
import { SidebarTabs } from './SidebarTabs.ts';
import { SignallingClient } from './SignallingClient.ts';
import type { StreamPreference, TileState } from './Tile.ts';
import type { MyGrantSummary } from './MyIncidents.ts';
import { LAYOUTS, Wall } from './Wall.ts';
import { fitLayout, planTiles } from './wallPlan.ts';

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
    /** The stream received ('main', 'sub', 'low'), its resolution and why the server chose it. */
    stream: string | undefined;
    streamWidth: number | undefined;
    streamHeight: number | undefined;
    streamReason: string | undefined;
    /** The tile menu's choice: 'auto', 'main', 'sub', 'low'. */
    streamChoice: StreamPreference;
    /** The tile's measured bit rate (kbit/s) from the server's last `bandwidth` event. */
    kbps: number | undefined;
    /** A no-gap stream switch is under way. */
    switching: boolean;
    /** The short message of a refused switch, while the tile shows it. */
    notice: string | undefined;
    /** The tile shows an admin's review of a pending citizen camera (consumed with review: true). */
    review: boolean;
  }>;
  /** The receive transport: its ICE/DTLS state, ICE restarts, the selected pair's protocol and whether TURN relays it. */
  media: () => { state: string; iceRestarts: number; protocol: IceProtocol | undefined; relayed: boolean } | undefined;
  /** The connection's recent events (socket lost, session resumed, ICE states, restarts), `at` in performance.now() ms. */
  connectionLog: () => Array<{ at: number; event: string }>;
  /** The session's last measured bit rate and cap (kbit/s; cap null: none), once the server sent one. */
  bandwidth: () => { totalKbps: number; capKbps: number | null } | undefined;
  /** Who is signed in (from GET /api/me, role kept current by rightsChanged), once known. */
  user: () => { username: string; role: string } | undefined;
  /** Operators, admins: the open incidents in the incidents panel. */
  incidents: () => IncidentSummary[];
  /** Investigators: their live grants in "My incidents", soonest to end first. */
  myGrants: () => MyGrantSummary[];
  /** Operators, admins: the alarms in the banner (not closed). */
  alarms: () => AlarmSummary[];
  /** The alarm sound: the AudioContext's state, the enable prompt shown, ringing, beeps scheduled while running. */
  alarmSound: () => AlarmSoundSummary;
  /** Turns "Switch the wall to an alarm's cameras automatically" on or off (saved for the user). */
  setAutoSwitch: (on: boolean) => void;
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
/** Connection events kept for window.c5.connectionLog(). */
const CONNECTION_LOG_SIZE = 50;
/** grantsChanged events this close together make one reload of the camera list. */
const GRANTS_RELOAD_DEBOUNCE_MS = 300;

/** The connected console of one session: signalling, media, list, wall. */
interface ConsoleRun {
  readonly receiver: MediaReceiver;
  readonly wall: Wall;
  readonly incidents: IncidentsTab;
  readonly alarms: AlarmConsole;
  readonly ready: boolean;
  /** The server's last `bandwidth` event on this connection. */
  readonly bandwidth: { totalKbps: number; capKbps: number | null } | undefined;
  /** The connection's recent events (window.c5.connectionLog). */
  readonly log: ReadonlyArray<{ at: number; event: string }>;
  /** Who is signed in (GET /api/me): the incidents tab depends on the role. */
  setUser(user: UserInfo): void;
  /** Tears everything down (signed out); the wall's assignment stays saved. */
  stop(): void;
}

interface RunHooks {
  view: ConsoleView;
  /** The page's alarm sound (one AudioContext for the page). */
  sound: AlarmSound;
  tabs: SidebarTabs;
  session: Session;
  setConnection: (state: Parameters<ConsoleView['setConnection']>[0], detail?: string) => void;
  /** The server said the user's rights changed. */
  rightsChanged: (event: { role: string; areas: string[]; municipalities: string[] }) => void;
}

function startConsole({ view, sound, tabs, session, setConnection, rightsChanged }: RunHooks): ConsoleRun {
  let ready = false;
  let stopped = false;
  const client = new SignallingClient(() => session.token);
  const transportParam = new URLSearchParams(window.location.search).get('transport');
  const media = new MediaReceiver(client, { tcpOnly: transportParam === 'tcp', relayOnly: transportParam === 'relay' });
  const cameras = new CameraList(view.cameraListElement, (query) => client.request('listCameras', query));
  const incidents = new IncidentsTab(
    view.incidentsElement,
    tabs,
    'tab-incidents',
    new IncidentsApi(() => session.token),
    {
      pick: (code) => videoWall.assign(code),
      fill: (codes) => fillWall(codes),
      refreshNames: () => videoWall.refreshNames(),
    },
    (code) => cameras.name(code),
  );
  // Admins: citizen camera enrolments to review; Preview plays the pending camera on the selected tile
  // (before the wall: a restored tile asks for its camera's name at once).
  const review = new ReviewTab(view.reviewElement, tabs, 'tab-review', view.reviewCountElement, new ReviewApi(() => session.token), {
    preview: (code) => {
      videoWall.assign(code, undefined, { review: true });
      view.drawer.setOpen(false);
    },
    approved: (code) => videoWall.reviewApproved(code),
    rejected: (code, message) => videoWall.reviewRejected(code, message),
    municipalities: () => cameras.municipalities(),
  });
  const videoWall = new Wall(
    view.wallElement,
    {
      receiver: media,
      online: () => client.connected && media.ready,
      cameraName: (id) => cameras.name(id) ?? incidents.cameraName(id) ?? review.cameraName(id),
    },
    localStorage,
  );
  const alarmsApi = new AlarmsApi(() => session.token);
  const alarms = new AlarmConsole(view.alarmBannerElement, alarmsApi, sound, { show: (codes) => fillWall(codes, { exclusive: true }) }, localStorage);
  const alarmDevices = new AlarmDevicesTab(view.alarmDevicesElement, tabs, 'tab-alarm-devices', alarmsApi);
  /** Investigators' walls show only their grants: "Fill the wall" clears the other tiles. */
  let clearOthersOnFill = false;
  let username: string | undefined;
  const applyRole = (role: string, municipalities: string[]): void => {
    clearOthersOnFill = role === 'investigator';
    incidents.setUser(role, municipalities);
    if (username !== undefined) alarms.setUser(username, role);
    alarmDevices.setUser(role);
    review.setUser(role);
  };
  /** Puts these cameras on the wall (a larger layout if needed), keeping those already there in place. */
  const fillWall = (codes: string[], options: { exclusive?: boolean } = {}): void => {
    const wanted = [...new Set(codes)].slice(0, LAYOUTS[LAYOUTS.length - 1]);
    if (wanted.length === 0) return;
    // An alarm takes the wall over: the smallest layout that shows its cameras, and nothing else.
    const layout = fitLayout(wanted.length, options.exclusive ? LAYOUTS[0] : videoWall.layout, LAYOUTS);
    videoWall.setLayout(layout);
    view.setLayout(layout);
    const plan = planTiles(
      videoWall.tiles().map((tile) => tile.cameraId),
      wanted,
      { clearOthers: clearOthersOnFill || options.exclusive === true },
    );
    plan.forEach((code, index) => {
      if (code === undefined) videoWall.clear(index);
      else if (videoWall.tiles()[index]?.cameraId !== code) videoWall.assign(code, index);
    });
  };
  view.setLayout(videoWall.layout);

  const offLayout = view.on('layout', (layout) => {
    videoWall.setLayout(layout);
    view.setLayout(layout);
  });
  cameras.on('pick', (cameraId) => videoWall.assign(cameraId));

  // Bumped at every disconnection so a set-up still running for an older connection stops.
  let connectionEpoch = 0;
  let filledOnce = videoWall.restored;
  /** The server's last measured bit rates on this connection (shown in the top bar). */
  let bandwidth: { totalKbps: number; capKbps: number | null } | undefined;
  let connectedBefore = false;

  /** Tiles whose camera is no longer in the user's list say so; forbidden ones listed again retry. */
  const checkWallAccess = async (epoch: number): Promise<void> => {
    const access = await cameras.accessible(videoWall.watchedCameras());
    if (epoch !== connectionEpoch || stopped) return;
    videoWall.checkAccess((cameraId) => access.get(cameraId));
    videoWall.refreshNames();
  };

  const log: Array<{ at: number; event: string }> = [];
  const note = (event: string): void => {
    log.push({ at: Math.round(performance.now()), event });
    if (log.length > CONNECTION_LOG_SIZE) log.shift();
  };
  /** The socket dropped and the server keeps the session: tiles keep their consumers until it is taken back or the grace ends. */
  let holding: ReturnType<typeof setTimeout> | undefined;
  const stopHolding = (): void => {
    if (holding !== undefined) clearTimeout(holding);
    holding = undefined;
  };
  /** Everything the server held is gone: tiles wait for the next connection's new transport. */
  const dropMedia = (reason: string): void => {
    stopHolding();
    media.reset();
    videoWall.setTransport(undefined);
    videoWall.offline(reason);
  };

  client.on('connected', (session) => {
    const epoch = ++connectionEpoch;
    const wasHolding = holding !== undefined;
    stopHolding();
    const resumed = session.resumed;
    note(resumed ? `session resumed after ${resumed.detachedMs} ms` : session.resumeExpired ? 'session expired: new session' : 'new session');
    void (async () => {
      try {
        const listing = cameras.reload();
        // Awaited below, after the media: marked handled now so an early failure is not reported twice.
        listing.catch(() => undefined);
        if (wasHolding && resumed?.transportId !== undefined && media.isCurrentTransport(resumed.transportId)) {
          // The session was taken back: the transport and consumers are still there. The network
          // may have changed under them, so ICE restarts; tiles whose consumer closed meanwhile consume again.
          const open = new Set(resumed.consumers.map((consumer) => consumer.consumerId));
          videoWall.reconcileConsumers(open);
          for (const consumer of resumed.consumers) {
            // A consume answered while we were away: nobody here owns it.
            if (!videoWall.ownsConsumer(consumer.consumerId)) client.request('closeConsumer', { consumerId: consumer.consumerId }).catch(() => undefined);
          }
          await media.restartIce();
        } else {
          if (wasHolding) media.reset();
          if (wasHolding) videoWall.offline('connection lost');
          // A session taken back that we no longer hold media for: its transport goes first.
          if (resumed?.transportId !== undefined) await client.request('closeTransport', { transportId: resumed.transportId }).catch(() => undefined);
          await media.open();
        }
        const { cameras: firstPage } = await listing;
        if (epoch !== connectionEpoch) return;
        videoWall.refreshNames();
        incidents.refreshNames();
        // Incident and grant changes while disconnected were not announced.
        if (connectedBefore) {
          incidents.reconnected();
          review.reconnected();
        }
        connectedBefore = true;
        if (!filledOnce) {
          filledOnce = true;
          videoWall.fill(firstPage.slice(0, videoWall.layout).map((camera) => camera.id));
        }
        ready = true;
        setConnection('connected');
        // A new session starts shown; a resumed one keeps what the server was last told, and the
        // page may have been hidden or shown while the socket was down (a change it could not send).
        const hidden = document.visibilityState === 'hidden';
        if (hidden || resumed) void media.setPageVisible(!hidden).catch(() => undefined);
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

  client.on('disconnected', (reason, resume) => {
    note(`socket lost (${reason})${resume.resumable ? ': session kept' : ''}`);
    connectionEpoch++;
    ready = false;
    bandwidth = undefined;
    view.setBandwidth(undefined);
    if (session.signedIn && !stopped) setConnection('reconnecting');
    if (resume.resumable && media.ready) {
      // The network went away, not the session: the video keeps playing while it can, and the
      // next connection takes the session back. Past the server's grace, it is gone for good.
      stopHolding();
      holding = setTimeout(() => {
        holding = undefined;
        dropMedia('connection lost');
      }, resume.graceMs);
      return;
    }
    dropMedia('connection lost');
  });

  client.on('authFailed', (message) => session.signOut(message));
  client.on('sessionEnded', (reason) => session.signOut(reason));
  client.on('cameraState', (status) => {
    cameras.update(status);
    videoWall.cameraState(status);
  });
  client.on('cameraHealth', (event) => cameras.updateHealth(event));
  client.on('alarmRaised', (alarm) => alarms.raised(alarm));
  client.on('alarmChanged', (alarm) => alarms.changed(alarm));
  client.on('alarmsOpen', (event) => alarms.open(event));
  client.on('alarmDeviceStatus', (event) => alarms.deviceStatus(event));
  client.on('consumerClosed', (event) => videoWall.consumerClosed(event));
  client.on('bandwidth', (event) => {
    bandwidth = { totalKbps: event.totalKbps, capKbps: event.capKbps };
    videoWall.bandwidth(event);
    view.setBandwidth(bandwidth);
  });
  client.on('streamAdvice', (event) => videoWall.streamAdvice(event));
  client.on('rightsChanged', (event) => {
    rightsChanged(event);
    applyRole(event.role, event.municipalities);
    const epoch = connectionEpoch;
    // The list shows what the user may see now; then the wall is checked against it.
    cameras
      .reload()
      .catch((error: unknown) => console.warn('listing cameras after a rights change failed', error))
      .then(() => checkWallAccess(epoch))
      .catch((error: unknown) => console.warn('checking the wall after a rights change failed', error));
  });

  // The catalog changed (a camera approved, revoked, its sharing or place changed): the list follows.
  client.on('camerasChanged', () => {
    if (stopped) return;
    cameras.reload().catch((error: unknown) => console.warn('listing cameras after a catalog change failed', error));
  });

  // The incidents an operator runs decide which citizen cameras they see: the camera list follows.
  let incidentsReload: ReturnType<typeof setTimeout> | undefined;
  client.on('incidentsChanged', () => {
    incidents.incidentsChanged();
    if (incidentsReload !== undefined) return;
    incidentsReload = setTimeout(() => {
      incidentsReload = undefined;
      if (stopped) return;
      cameras.reload().catch((error: unknown) => console.warn('listing cameras after an incident change failed', error));
    }, GRANTS_RELOAD_DEBOUNCE_MS);
  });
  // An investigator's grants changed: "My incidents" and the camera list follow. Tiles of cameras
  // granted again try at once; a camera no longer granted is closed by the server with its reason
  // (consumerClosed), which the tile keeps: the generic "no longer in your list" must not replace it.
  let grantsReload: ReturnType<typeof setTimeout> | undefined;
  client.on('grantsChanged', () => {
    incidents.grantsChanged();
    if (grantsReload !== undefined) return;
    grantsReload = setTimeout(() => {
      grantsReload = undefined;
      const epoch = connectionEpoch;
      cameras
        .reload()
        .then(() => cameras.accessible(videoWall.watchedCameras()))
        .then((access) => {
          if (epoch !== connectionEpoch || stopped) return;
          videoWall.checkAccess((cameraId) => (access.get(cameraId) === true ? true : undefined));
          videoWall.refreshNames();
          incidents.refreshNames();
        })
        .catch((error: unknown) => console.warn('listing cameras after a grant change failed', error));
    }, GRANTS_RELOAD_DEBOUNCE_MS);
  });

  // ICE/DTLS failed, or the server's transport went with its media worker: reconnecting the socket
  // makes the server close everything, then all is re-created.
  const rebuildMedia = (reason: string): void => {
    if (!client.connected) return;
    connectionEpoch++;
    ready = false;
    dropMedia(reason);
    setConnection('reconnecting', 'media');
    client.reconnect();
  };
  // A hidden page (background tab, screen off) receives no video: the server pauses its consumers.
  const onVisibility = (): void => {
    if (ready) void media.setPageVisible(document.visibilityState !== 'hidden').catch(() => undefined);
    if (document.visibilityState !== 'hidden') videoWall.pageShown();
  };
  document.addEventListener('visibilitychange', onVisibility);
  media.on('failed', () => rebuildMedia('media connection lost'));
  let lastState = '';
  media.on('state', (state) => {
    if (state !== lastState) note(`ice ${state}${state === 'connected' ? '' : ` (restarts ${media.iceRestarts})`}`);
    lastState = state;
    videoWall.setTransport(media.relayed ? 'TURN' : media.protocol?.toUpperCase());
  });
  client.on('transportClosed', (event) => {
    if (media.isCurrentTransport(event.transportId)) rebuildMedia('media server restarting');
  });

  session.startRefreshing(() => client.request('refreshToken', {}));
  client.open();

  return {
    receiver: media,
    wall: videoWall,
    incidents,
    alarms,
    setUser(user: UserInfo) {
      username = user.username;
      applyRole(user.role, user.municipalities);
    },
    get ready() {
      return ready;
    },
    get bandwidth() {
      return bandwidth;
    },
    log,
    stop() {
      if (stopped) return;
      stopped = true;
      connectionEpoch++;
      ready = false;
      view.setBandwidth(undefined);
      stopHolding();
      document.removeEventListener('visibilitychange', onVisibility);
      session.close();
      offLayout();
      if (grantsReload !== undefined) clearTimeout(grantsReload);
      incidents.close();
      alarms.close();
      alarmDevices.close();
      review.close();
      // The connection closes with everything: the server drops our consumers with it.
      videoWall.stopAll('signed out', { notifyServer: false });
      videoWall.close();
      media.reset();
      client.close();
    },
  };
}

async function main(): Promise<void> {
  // A console link opened in a tab that already shows the console changes only the hash: start over with it.
  window.addEventListener('hashchange', () => {
    if (/(^#|&)code=/.test(window.location.hash)) window.location.reload();
  });
  const view = new ConsoleView();
  const tabs = new SidebarTabs(view.sidebarTabsElement);
  const session = new Session(sessionStorage);
  // One AudioContext for the page, made now: the sign-in click or key press already enables it.
  const sound = new AlarmSound();
  let run: ConsoleRun | undefined;
  let user: UserInfo | undefined;
  let connection = 'starting';
  /** Bumped at every sign-in and sign-out: answers about an older session are dropped. */
  let sessionEpoch = 0;

  const setConnection = (state: Parameters<ConsoleView['setConnection']>[0], detail?: string): void => {
    connection = state;
    view.setConnection(state, detail);
  };

  window.c5 = {
    handlerName: () => run?.receiver.handlerName,
    tiles: () =>
      (run?.wall.tiles() ?? []).map((tile) => ({
        cameraId: tile.cameraId,
        state: tile.state,
        reason: tile.reason,
        videoWidth: tile.videoWidth,
        videoHeight: tile.videoHeight,
        transport: tile.state === 'live' ? run?.receiver.protocol : undefined,
        stream: tile.stream,
        streamWidth: tile.streamWidth,
        streamHeight: tile.streamHeight,
        streamReason: tile.streamReason,
        streamChoice: tile.streamChoice,
        kbps: tile.kbps,
        switching: tile.switching,
        notice: tile.notice,
        review: tile.review,
      })),
    media: () => (run ? { state: run.receiver.state, iceRestarts: run.receiver.iceRestarts, protocol: run.receiver.protocol, relayed: run.receiver.relayed } : undefined),
    connectionLog: () => run?.log.slice() ?? [],
    bandwidth: () => run?.bandwidth,
    user: () => (user ? { username: user.username, role: user.role } : undefined),
    incidents: () => run?.incidents.incidents() ?? [],
    myGrants: () => run?.incidents.myGrants() ?? [],
    alarms: () => run?.alarms.alarms() ?? [],
    alarmSound: () => run?.alarms.soundSummary() ?? { state: sound.state, prompt: false, ringing: sound.ringing, beeps: sound.beeps },
    setAutoSwitch: (on) => run?.alarms.setAutoSwitch(on),
    get ready() {
      return run?.ready ?? false;
    },
    get signedIn() {
      return session.signedIn;
    },
    get connection() {
      return connection;
    },
  };

  const showSignedOut = (reason?: string): void => {
    connection = 'signed-out';
    view.showSignedOut(reason);
  };

  /** Who is signed in, for the top bar and window.c5.user(); a refused token ends the session. */
  const loadUser = async (epoch: number): Promise<void> => {
    try {
      const me = await session.me();
      if (epoch !== sessionEpoch) return;
      user = me;
      view.setUser(me);
      run?.setUser(me);
    } catch (error) {
      if (epoch !== sessionEpoch) return;
      const code = error instanceof SignInError ? error.code : undefined;
      if (code === 'unauthenticated') session.signOut(error instanceof Error && error.message ? error.message : 'the session has ended');
      else console.warn('could not read the signed-in user', error);
    }
  };

  const start = (): void => {
    const epoch = ++sessionEpoch;
    view.showConsole();
    setConnection('connecting');
    run = startConsole({
      view,
      sound,
      tabs,
      session,
      setConnection,
      rightsChanged: (event) => {
        if (epoch !== sessionEpoch || !user) return;
        user = { ...user, role: event.role, areas: event.areas, municipalities: event.municipalities };
        view.setUser(user);
      },
    });
    void loadUser(epoch);
  };

  session.on('signedOut', (reason) => {
    sessionEpoch++;
    user = undefined;
    const current = run;
    run = undefined;
    current?.stop();
    showSignedOut(reason);
  });
  view.on('signOut', () => void session.logout('you signed out'));
  view.on('signIn', (username, password) => {
    view.setSigningIn(true);
    view.showSignInError(undefined);
    session.signIn(username, password).then(
      () => {
        view.setSigningIn(false);
        if (session.signedIn && !run) start();
      },
      (error: unknown) => view.signInRefused(error instanceof SignInError ? error.message : 'sign-in failed'),
    );
  });

  window.addEventListener('pagehide', () => {
    const current = run;
    run = undefined;
    current?.stop();
  });
  // Back/forward cache: the connection was closed on pagehide, so start again.
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) window.location.reload();
  });

  let signInFailure: string | undefined;
  try {
    await session.signInFromLocation(window.location, window.history);
  } catch (error) {
    signInFailure = error instanceof SignInError ? `sign-in failed: ${error.message}` : 'sign-in failed';
  }
  if (!session.signedIn) {
    showSignedOut(signInFailure);
    return;
  }
  start();
}

void main().catch((error: unknown) => {
  console.error('the console failed to start', error);
});
