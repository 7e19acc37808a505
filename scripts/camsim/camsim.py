#!/usr/bin/python3
"""C5 Live camera simulator: one GStreamer RTSP server (GstRtspServer via GI) serving many mounts.

Run with /usr/bin/python3 (needs python3-gi, gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-
{base,good,ugly}). Normally started through test/support/simulator.ts or `npm run cameras`.

  camsim.py (--config FILE | --config-json JSON) [--port N] [--control-port N] [--host ADDR]

Port 0 (the default) picks a free port. When listening, prints ONE line to stdout:
  {"ready":true,"rtspPort":8554,"controlPort":40123,"pid":1234,"mounts":["/cam-main",...]}
All other logging goes to stderr. SIGTERM/SIGINT stop it.

Config (JSON):
  { "cameras": [ <camera> | {"bulk": <bulk>} , ... ] }
  camera:
    id           string, required; mount path is /<id>  (rtsp://HOST:PORT/<id>)
    tag          int 0..65535, drawn in every frame (rows 16..31, 16 blocks of 20x16 px,
                 LSB left, white=1, neutral chroma); needs width >= 320. Default: none.
    codec        "h264" (default) | "mjpeg" (RTP/JPEG, payload 26)
    profile      "baseline" (default) | "main" | "high"       (h264)
    width, height, fps                                     default 640x360 @ 25
    gop          keyframe interval in frames (h264)        default = fps
    bitrateKbps  h264 target bitrate                       default 800
    bframes      B-frames between references (h264; needs main/high)   default 0
    slices       slices per picture (h264, without bframes; x264 slices=N)   default 1.
                 With 2 or more the payloader also sends SPS/PPS before every IDR slice
                 (config-interval=-1), so again between the slices of a keyframe: the
                 multi-slice camera of FINDINGS.md / issue 19.
    quality      jpegenc quality 1..100 (mjpeg)            default 70
    pattern      videotestsrc pattern nick (smpte, ball, bar, pinwheel, gradient, ...)  default smpte
    motion       horizontal pixels per frame the pattern scrolls (videotestsrc horizontal-speed)
    stamped      true: wall clock (Date.now() mod 2^32, ms) in every frame as 32 blocks of
                 20x16 px in rows 0..15, LSB left, neutral chroma; needs width >= 640.
                 Written natively into the raw I420 frame by a pad probe just before the encoder
                 (costs ~nothing, unlike an ffmpeg geq filter).
    auth         {"user": "...", "password": "...", "method": "basic" | "digest"}
                 No/wrong credentials -> 401 whose WWW-Authenticate offers only that method;
                 right credentials sent with the other method -> 404 (GstRtspServer's no-access).
                 Digest credentials of one user must share one password across cameras.
  bulk (cheap load cameras; ONE encoder feeds all `count` mounts, shared by the media key):
    prefix       mount names are <prefix>1 .. <prefix><count>, e.g. /bulk-1
    count, width (160), height (90), fps (5), gop (fps), bitrateKbps (64), profile, pattern,
    tag (drawn if width >= 320), auth (same for all)

Control API (HTTP on 127.0.0.1:<controlPort>):
  GET  /status                   {"pid","cpuSeconds","rtspPort","cameras":[{"id","path","codec",
                                   "dropped","clients"}...]}
  POST /cameras/<id>/drop        disconnect its clients, refuse new ones (404) until restored
  POST /cameras/<id>/restore     serve it again
cpuSeconds = user+system CPU of this process and its (reaped) children, from /proc/self/stat.
"""
import argparse
import ctypes
import faulthandler
import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtsp', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402

BLOCK_W = 20
BLOCK_H = 16
STAMP_BITS = 32
TAG_BITS = 16
Y_ON = 235
Y_OFF = 16


def log(*args):
    print('[camsim]', *args, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Writing into raw frames. PyGObject only gives read-only maps of a buffer it holds a reference
# to, so map through libgstreamer with ctypes and write through the raw pointer. The buffers come
# fresh from videotestsrc, nobody else reads them before the encoder, so this is safe.
# ---------------------------------------------------------------------------------------------
_libgst = ctypes.CDLL('libgstreamer-1.0.so.0')


class _MapInfo(ctypes.Structure):
    _fields_ = [('memory', ctypes.c_void_p), ('flags', ctypes.c_int), ('data', ctypes.c_void_p),
                ('size', ctypes.c_size_t), ('maxsize', ctypes.c_size_t),
                ('user_data', ctypes.c_void_p * 4), ('_gst_reserved', ctypes.c_void_p * 4)]


_libgst.gst_buffer_map.argtypes = [ctypes.c_void_p, ctypes.POINTER(_MapInfo), ctypes.c_int]
_libgst.gst_buffer_map.restype = ctypes.c_int
_libgst.gst_buffer_unmap.argtypes = [ctypes.c_void_p, ctypes.POINTER(_MapInfo)]
_libgst.gst_buffer_unmap.restype = None
_GST_MAP_READ = 1
# PyGBoxed / PyGObject: PyObject_HEAD (refcnt, type) then the pointer to the C object.
_BOXED_PTR_OFFSET = 2 * ctypes.sizeof(ctypes.c_void_p)


_librtspsrv = ctypes.CDLL('libgstrtspserver-1.0.so.0')
_librtspsrv.gst_rtsp_auth_set_supported_methods.argtypes = [ctypes.c_void_p, ctypes.c_int]
_librtspsrv.gst_rtsp_auth_set_supported_methods.restype = None
AUTH_BASIC = 1  # GST_RTSP_AUTH_BASIC
AUTH_DIGEST = 2  # GST_RTSP_AUTH_DIGEST


def set_auth_methods(auth, methods):
    """GI maps GstRTSPAuthMethod as an enum, so BASIC|DIGEST cannot be passed through GI."""
    _librtspsrv.gst_rtsp_auth_set_supported_methods(_buffer_pointer(auth), methods)


def _buffer_pointer(buf):
    return ctypes.c_void_p.from_address(id(buf) + _BOXED_PTR_OFFSET).value


_libgst.gst_buffer_get_size.argtypes = [ctypes.c_void_p]
_libgst.gst_buffer_get_size.restype = ctypes.c_size_t
_libgobject = ctypes.CDLL('libgobject-2.0.so.0')
_libgobject.g_type_name_from_instance.argtypes = [ctypes.c_void_p]
_libgobject.g_type_name_from_instance.restype = ctypes.c_char_p


def self_check():
    """Fail loudly if this PyGObject's object layout differs from what the ctypes code assumes."""
    buf = Gst.Buffer.new_allocate(None, 12345, None)
    if _libgst.gst_buffer_get_size(_buffer_pointer(buf)) != 12345:
        raise RuntimeError('PyGObject boxed layout not as expected (GstBuffer pointer)')
    auth = GstRtspServer.RTSPAuth()
    if _libgobject.g_type_name_from_instance(_buffer_pointer(auth)) != b'GstRTSPAuth':
        raise RuntimeError('PyGObject object layout not as expected (GObject pointer)')


def _ru4(v):
    return (v + 3) & ~3


def _ru2(v):
    return (v + 1) & ~1


class FrameMarker:
    """Draws the clock stamp (rows 0..15) and/or the tag (rows 16..31) into I420 frames."""

    def __init__(self, width, height, stamped, tag):
        self.w, self.h = width, height
        self.stamped = stamped and width >= STAMP_BITS * BLOCK_W and height >= BLOCK_H
        self.tag = tag if (tag is not None and width >= TAG_BITS * BLOCK_W
                           and height >= 2 * BLOCK_H) else None
        # default GstVideoInfo layout for I420
        self.ystride = _ru4(width)
        self.cstride = _ru4(_ru2(width) // 2)
        self.uoff = self.ystride * _ru2(height)
        self.voff = self.uoff + self.cstride * (_ru2(height) // 2)
        self.size = self.voff + self.cstride * (_ru2(height) // 2)
        self.neutral_stamp = bytes([128]) * (STAMP_BITS * BLOCK_W // 2)
        self.neutral_tag = bytes([128]) * (TAG_BITS * BLOCK_W // 2)
        self.tag_row = self._row(self.tag, TAG_BITS) if self.tag is not None else None
        self.warned = False

    @staticmethod
    def _row(value, bits):
        out = bytearray()
        for i in range(bits):
            out += bytes([Y_ON if (value >> i) & 1 else Y_OFF]) * BLOCK_W
        return bytes(out)

    def active(self):
        return self.stamped or self.tag is not None

    def probe(self, _pad, info):
        buf = info.get_buffer()
        if buf is None:
            return Gst.PadProbeReturn.OK
        bp = _buffer_pointer(buf)
        mi = _MapInfo()
        if not _libgst.gst_buffer_map(bp, ctypes.byref(mi), _GST_MAP_READ):
            return Gst.PadProbeReturn.OK
        try:
            if mi.size < self.size:
                if not self.warned:
                    log('unexpected frame size', mi.size, '<', self.size)
                    self.warned = True
                return Gst.PadProbeReturn.OK
            base = mi.data
            mv = ctypes.memmove
            if self.stamped:
                now = int(time.time() * 1000) & 0xFFFFFFFF
                row = self._row(now, STAMP_BITS)
                for y in range(BLOCK_H):
                    mv(base + y * self.ystride, row, len(row))
                for y in range(BLOCK_H // 2):
                    mv(base + self.uoff + y * self.cstride, self.neutral_stamp, len(self.neutral_stamp))
                    mv(base + self.voff + y * self.cstride, self.neutral_stamp, len(self.neutral_stamp))
            if self.tag_row is not None:
                row = self.tag_row
                for y in range(BLOCK_H, 2 * BLOCK_H):
                    mv(base + y * self.ystride, row, len(row))
                for y in range(BLOCK_H // 2, BLOCK_H):
                    mv(base + self.uoff + y * self.cstride, self.neutral_tag, len(self.neutral_tag))
                    mv(base + self.voff + y * self.cstride, self.neutral_tag, len(self.neutral_tag))
        finally:
            _libgst.gst_buffer_unmap(bp, ctypes.byref(mi))
        return Gst.PadProbeReturn.OK


# ---------------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------------
PATTERNS = {'smpte', 'snow', 'black', 'white', 'red', 'green', 'blue', 'checkers-1', 'checkers-2',
            'checkers-4', 'checkers-8', 'circular', 'blink', 'smpte75', 'zone-plate', 'gamut',
            'chroma-zone-plate', 'solid-color', 'ball', 'smpte100', 'bar', 'pinwheel', 'spokes',
            'gradient', 'colors'}


class Camera:
    def __init__(self, d, bulk=None):
        self.id = str(d['id'])
        if not self.id or '/' in self.id or not all(c.isalnum() or c in '-_.' for c in self.id):
            raise ValueError('bad camera id %r' % self.id)
        self.path = '/' + self.id
        self.codec = d.get('codec', 'h264')
        if self.codec not in ('h264', 'mjpeg'):
            raise ValueError('%s: codec must be h264 or mjpeg' % self.id)
        self.profile = d.get('profile', 'baseline')
        if self.profile not in ('baseline', 'main', 'high'):
            raise ValueError('%s: profile must be baseline, main or high' % self.id)
        self.width = int(d.get('width', 640))
        self.height = int(d.get('height', 360))
        self.fps = int(d.get('fps', 25))
        self.gop = int(d.get('gop', self.fps))
        self.bitrate = int(d.get('bitrateKbps', 800))
        self.bframes = int(d.get('bframes', 0))
        self.slices = int(d.get('slices', 1))
        if not 1 <= self.slices <= 16:
            raise ValueError('%s: slices must be 1..16' % self.id)
        if self.slices > 1 and self.bframes:
            raise ValueError('%s: slices and bframes cannot be combined' % self.id)
        if self.bframes and self.profile == 'baseline':
            raise ValueError('%s: B-frames need profile main or high' % self.id)
        self.quality = int(d.get('quality', 70))
        self.pattern = d.get('pattern', 'smpte')
        if self.pattern not in PATTERNS:
            raise ValueError('%s: unknown pattern %r' % (self.id, self.pattern))
        self.motion = int(d.get('motion', 0))
        self.stamped = bool(d.get('stamped', False))
        if self.stamped and self.width < STAMP_BITS * BLOCK_W:
            raise ValueError('%s: a stamped camera needs width >= 640' % self.id)
        tag = d.get('tag')
        self.tag = None if tag is None else int(tag)
        if self.tag is not None and not 0 <= self.tag < (1 << TAG_BITS):
            raise ValueError('%s: tag must be 0..65535' % self.id)
        auth = d.get('auth')
        self.auth = None
        if auth:
            method = auth.get('method', 'basic')
            if method not in ('basic', 'digest'):
                raise ValueError('%s: auth.method must be basic or digest' % self.id)
            self.auth = (str(auth['user']), str(auth['password']), method)
        self.bulk = bulk  # bulk group key, or None
        self.dropped = False
        self.factory = None

    def launch(self):
        src = ('videotestsrc is-live=true pattern=%s horizontal-speed=%d ! '
               'video/x-raw,format=I420,width=%d,height=%d,framerate=%d/1 ! identity name=mark ! '
               % (self.pattern, self.motion, self.width, self.height, self.fps))
        if self.codec == 'mjpeg':
            return '( %s jpegenc quality=%d ! rtpjpegpay name=pay0 pt=26 )' % (src, self.quality)
        if self.bframes:
            # no tune=zerolatency: it forces bframes=0
            enc = ('x264enc speed-preset=superfast bframes=%d b-adapt=false rc-lookahead=%d '
                   'sync-lookahead=0 threads=1 key-int-max=%d bitrate=%d'
                   % (self.bframes, self.bframes + 1, self.gop, self.bitrate))
        else:
            # ultrafast has neither CABAC nor 8x8dct, so x264 would emit Baseline whatever the caps
            preset = 'ultrafast' if self.profile == 'baseline' else 'superfast'
            enc = ('x264enc tune=zerolatency speed-preset=%s threads=1 key-int-max=%d bitrate=%d'
                   % (preset, self.gop, self.bitrate))
            if self.slices > 1:
                enc += ' option-string=slices=%d' % self.slices
        # SPS/PPS once a second, or before every IDR slice for the multi-slice camera.
        interval = -1 if self.slices > 1 else 1
        return ('( %s %s ! video/x-h264,profile=%s ! rtph264pay name=pay0 pt=96 config-interval=%d )'
                % (src, enc, self.profile, interval))

    def describe(self):
        return {'id': self.id, 'path': self.path, 'codec': self.codec,
                'profile': self.profile if self.codec == 'h264' else None,
                'width': self.width, 'height': self.height, 'fps': self.fps,
                'gop': self.gop if self.codec == 'h264' else None,
                'bframes': self.bframes, 'slices': self.slices, 'stamped': self.stamped, 'tag': self.tag,
                'auth': self.auth[2] if self.auth else None, 'bulk': self.bulk,
                'dropped': self.dropped}


def parse_config(cfg):
    cams = []
    for entry in cfg.get('cameras', []):
        if 'bulk' in entry:
            b = dict(entry['bulk'])
            prefix = str(b.get('prefix', 'bulk-'))
            count = int(b.get('count', 10))
            base = {'width': 160, 'height': 90, 'fps': 5, 'bitrateKbps': 64, 'pattern': 'ball'}
            base.update({k: v for k, v in b.items() if k not in ('prefix', 'count', 'id')})
            for i in range(1, count + 1):
                cams.append(Camera(dict(base, id='%s%d' % (prefix, i)), bulk=prefix))
        else:
            cams.append(Camera(entry))
    ids = [c.id for c in cams]
    if len(set(ids)) != len(ids):
        raise ValueError('duplicate camera ids')
    digest_users = {}
    for c in cams:
        if c.auth and c.auth[2] == 'digest':
            if digest_users.setdefault(c.auth[0], c.auth[1]) != c.auth[1]:
                raise ValueError('digest user %r has different passwords' % c.auth[0])
    return cams


# ---------------------------------------------------------------------------------------------
# RTSP server
# ---------------------------------------------------------------------------------------------
class Factory(GstRtspServer.RTSPMediaFactory):
    """Media factory; bulk factories return one key so every mount path shares one pipeline."""

    def __init__(self, cam, shared_key=None):
        super().__init__()
        self.cam = cam
        self.shared_key = shared_key
        self.set_launch(cam.launch())
        self.set_shared(True)
        self.set_eos_shutdown(False)
        self.set_protocols(GstRtsp.RTSPLowerTrans.TCP | GstRtsp.RTSPLowerTrans.UDP)
        self.connect('media-configure', self._on_media_configure)

    def do_gen_key(self, url):
        if self.shared_key:
            return self.shared_key
        return GstRtspServer.RTSPMediaFactory.do_gen_key(self, url)

    def _on_media_configure(self, _factory, media):
        marker = FrameMarker(self.cam.width, self.cam.height, self.cam.stamped, self.cam.tag)
        if not marker.active():
            return
        el = media.get_element().get_by_name('mark')
        if el is None:
            return
        pad = el.get_static_pad('src')
        pad.add_probe(Gst.PadProbeType.BUFFER, marker.probe)


class Auth(GstRtspServer.RTSPAuth):
    """Per-camera auth on one server-wide RTSPAuth.

    Public cameras (no `auth`) pass every check. Protected cameras use the default checks:
    no or wrong credentials -> 401; credentials are tokens whose media.factory.role is allowed
    only on the factories of the cameras they belong to (and only for the configured method, so a
    digest camera refuses Basic credentials). WWW-Authenticate offers only the camera's method.
    """

    def __init__(self, sim):
        super().__init__()
        self.sim = sim

    def _camera(self, ctx):
        path = ctx.uri.abspath if ctx is not None and ctx.uri is not None else None
        return self.sim.camera_for_path(path)

    def do_check(self, ctx, check):
        try:
            cam = self._camera(ctx)
        except Exception as e:  # noqa: BLE001
            log('auth path lookup failed', e)
            cam = None
        if cam is None or not cam.auth:
            return True
        return GstRtspServer.RTSPAuth.do_check(self, ctx, check)

    def do_generate_authenticate_header(self, ctx):
        method = None
        try:
            cam = self._camera(ctx)
            if cam is not None and cam.auth:
                method = cam.auth[2]
        except Exception as e:  # noqa: BLE001
            log('auth header path lookup failed', e)
        if method == 'basic':
            set_auth_methods(self, AUTH_BASIC)
        elif method == 'digest':
            set_auth_methods(self, AUTH_DIGEST)
        try:
            GstRtspServer.RTSPAuth.do_generate_authenticate_header(self, ctx)
        finally:
            set_auth_methods(self, AUTH_BASIC | AUTH_DIGEST)


class Simulator:
    def __init__(self, cams, host, port):
        self.cams = {c.id: c for c in cams}
        self.by_path = {c.path: c for c in cams}
        self.server = GstRtspServer.RTSPServer()
        self.server.set_address(host)
        self.server.set_service(str(port))
        self.mounts = self.server.get_mount_points()
        self.clients = {}  # RTSPClient -> set(paths)
        self._setup_auth(cams)
        shared = {}
        for c in cams:
            if c.bulk is not None:
                if c.bulk not in shared:
                    shared[c.bulk] = Factory(c, shared_key='bulk:' + c.bulk)
                    self._permit(shared[c.bulk], c)
                c.factory = shared[c.bulk]
            else:
                c.factory = Factory(c)
                self._permit(c.factory, c)
            self.mounts.add_factory(c.path, c.factory)
        self.server.connect('client-connected', self._on_client)

    # --- auth: one token role per (method, credentials); public cameras bypass checks ---
    def _setup_auth(self, cams):
        self.roles = {}
        self.auth = None
        if not any(c.auth for c in cams):
            return
        auth = Auth(self)
        set_auth_methods(auth, AUTH_BASIC | AUTH_DIGEST)
        for c in cams:
            if not c.auth:
                continue
            user, password, method = c.auth
            key = (method, user, password)
            if key in self.roles:
                continue
            role = 'cred%d' % len(self.roles)
            self.roles[key] = role
            if method == 'basic':
                auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), self._token(role))
            else:
                auth.add_digest(user, password, self._token(role))
        self.auth = auth
        self.server.set_auth(auth)

    @staticmethod
    def _token(role):
        tok = GstRtspServer.RTSPToken()
        tok.set_string('media.factory.role', role)
        return tok

    def _permit(self, factory, cam):
        if self.auth is None or not cam.auth:
            return
        role = self.roles[(cam.auth[2], cam.auth[0], cam.auth[1])]
        perms = GstRtspServer.RTSPPermissions()
        perms.add_role_from_structure(Gst.Structure.new_from_string(
            '%s, media.factory.access=(boolean)true, media.factory.construct=(boolean)true'
            % role))
        factory.set_permissions(perms)

    # --- client tracking for drop ---
    def camera_for_path(self, path):
        if not path:
            return None
        path = path.rstrip('/')
        cam = self.by_path.get(path)
        if cam is None:
            # control URLs like /cam/stream=0
            head = path.rsplit('/', 1)[0]
            cam = self.by_path.get(head)
        return cam

    def _on_client(self, _server, client):
        self.clients[client] = set()

        def on_request(_client, ctx):
            try:
                cam = self.camera_for_path(ctx.uri.abspath if ctx.uri is not None else None)
                if cam is not None and not cam.dropped:
                    self.clients.setdefault(client, set()).add(cam.id)
            except Exception as e:  # noqa: BLE001
                log('request tracking failed', e)

        for sig in ('describe-request', 'setup-request', 'play-request', 'options-request'):
            client.connect(sig, on_request)
        client.connect('closed', lambda c: self.clients.pop(c, None))

    def client_count(self, cam_id):
        return sum(1 for ids in self.clients.values() if cam_id in ids)

    def drop(self, cam_id):
        cam = self.cams.get(cam_id)
        if cam is None:
            return False
        if not cam.dropped:
            cam.dropped = True
            self.mounts.remove_factory(cam.path)
        victims = [c for c, ids in self.clients.items() if cam_id in ids]
        for c in victims:
            self.clients.pop(c, None)
            c.close()
        # UDP sessions outlive the RTSP connection; remove sessions on this mount too.
        pool = self.server.get_session_pool()

        def sess_filter(_pool, sess, _data=None):
            hit = []

            def sm_filter(_sess, sm, _d=None):
                try:
                    ok, _matched = sm.matches(cam.path)
                except TypeError:
                    ok = sm.matches(cam.path)
                if ok:
                    hit.append(sm)
                return GstRtspServer.RTSPFilterResult.KEEP

            sess.filter(sm_filter)
            return GstRtspServer.RTSPFilterResult.REMOVE if hit else GstRtspServer.RTSPFilterResult.KEEP

        try:
            pool.filter(sess_filter)
        except Exception as e:  # noqa: BLE001
            log('session cleanup failed', e)
        log('dropped', cam_id, 'closed', len(victims), 'client(s)')
        return True

    def restore(self, cam_id):
        cam = self.cams.get(cam_id)
        if cam is None:
            return False
        if cam.dropped:
            cam.dropped = False
            self.mounts.add_factory(cam.path, cam.factory)
        log('restored', cam_id)
        return True

    def status(self):
        cams = []
        for c in self.cams.values():
            d = c.describe()
            d['clients'] = self.client_count(c.id)
            cams.append(d)
        return {'pid': os.getpid(), 'cpuSeconds': cpu_seconds(),
                'rtspPort': self.server.get_bound_port(), 'cameras': cams}


def cpu_seconds():
    """utime+stime+cutime+cstime of this process (all threads, reaped children)."""
    with open('/proc/self/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    tck = os.sysconf('SC_CLK_TCK')
    # fields[0] is state (field 3); utime is field 14 -> index 11
    return sum(int(x) for x in fields[11:15]) / tck


# ---------------------------------------------------------------------------------------------
# Control API (HTTP thread -> GLib main loop)
# ---------------------------------------------------------------------------------------------
def run_on_main(fn, timeout=5.0):
    done = threading.Event()
    box = {}

    def call():
        try:
            box['v'] = fn()
        except Exception as e:  # noqa: BLE001
            box['e'] = e
        done.set()
        return False

    GLib.idle_add(call)
    if not done.wait(timeout):
        raise TimeoutError('main loop busy')
    if 'e' in box:
        raise box['e']
    return box.get('v')


def make_handler(sim):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_a):
            pass

        def _reply(self, code, obj):
            body = json.dumps(obj).encode()
            self.send_response(code)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802
            if self.path.rstrip('/') == '/status':
                return self._reply(200, run_on_main(sim.status))
            return self._reply(404, {'error': 'not found'})

        def do_POST(self):  # noqa: N802
            n = int(self.headers.get('Content-Length') or 0)
            if n:
                self.rfile.read(n)
            parts = self.path.strip('/').split('/')
            if len(parts) == 3 and parts[0] == 'cameras' and parts[2] in ('drop', 'restore'):
                fn = sim.drop if parts[2] == 'drop' else sim.restore
                ok = run_on_main(lambda: fn(parts[1]))
                if not ok:
                    return self._reply(404, {'error': 'unknown camera %s' % parts[1]})
                return self._reply(200, {'ok': True, 'id': parts[1], 'dropped': parts[2] == 'drop'})
            return self._reply(404, {'error': 'not found'})

    return Handler


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--config')
    ap.add_argument('--config-json')
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--control-port', type=int, default=0)
    ap.add_argument('--host', default='127.0.0.1')
    args = ap.parse_args()
    if args.config_json:
        cfg = json.loads(args.config_json)
    elif args.config:
        with open(args.config) as f:
            cfg = json.load(f)
    else:
        ap.error('--config or --config-json required')
    # A crash inside GStreamer prints the Python stacks to stderr (the test harness keeps its tail).
    faulthandler.enable()
    Gst.init(None)
    self_check()
    try:
        cams = parse_config(cfg)
    except (ValueError, KeyError, TypeError) as e:
        log('bad config:', e if not isinstance(e, KeyError) else 'missing %s' % e)
        sys.exit(2)
    sim = Simulator(cams, args.host, args.port)
    loop = GLib.MainLoop()
    if sim.server.attach(None) == 0:
        log('cannot listen on %s:%d' % (args.host, args.port))
        sys.exit(2)
    httpd = ThreadingHTTPServer(('127.0.0.1', args.control_port), make_handler(sim))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    def stop(*_a):
        log('stopping')
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGTERM, stop)
    GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGINT, stop)
    print(json.dumps({'ready': True, 'rtspPort': sim.server.get_bound_port(),
                      'controlPort': httpd.server_address[1], 'pid': os.getpid(),
                      'mounts': [c.path for c in cams]}), flush=True)
    log('serving %d mount(s) on rtsp://%s:%d' % (len(cams), args.host, sim.server.get_bound_port()))
    loop.run()
    httpd.shutdown()
    # exit without tearing pipelines down one by one (fast, and no children to wait for)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == '__main__':
    main()
