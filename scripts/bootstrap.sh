#!/usr/bin/env bash
# Idempotent setup for a fresh Debian 12 machine with Node 20: Debian packages (when root),
# npm dependencies without install scripts, the mediasoup worker built offline into a cache
# outside the repository, and `npm run build` (dist/). A second run checks, and builds dist/ again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"
started=$(date +%s)

packages=(
  # ingest and probing
  ffmpeg util-linux
  # mediasoup worker build against Debian's libraries
  g++ pkg-config ninja-build meson python3-venv libuv1-dev libssl-dev libsrtp2-dev libusrsctp-dev libabsl-dev nlohmann-json3-dev
  # camera simulator (GStreamer RTSP server through Python GI)
  python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-ugly
  # browser tests; openssl makes the HTTPS test's throwaway certificate
  chromium openssl
  # network tests (test/e2e/network.test.ts): nftables in the browser's namespace, coturn on 443,
  # certutil to make the browser trust coturn's throwaway certificate
  nftables coturn libnss3-tools
  # benchmark peer (bench:latency): Janus's streaming plugin and its browser library
  janus libjs-janus-gateway libjs-webrtc-adapter
  # benchmark floor (bench:latency): a native GStreamer H.264 decoder (avdec_h264)
  gstreamer1.0-libav
)

missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: missing Debian packages; run as root: apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
  echo "bootstrap: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || { echo "bootstrap: apt-get update failed; install by hand: ${missing[*]}" >&2; exit 1; }
  if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/c5-bootstrap-apt.log 2>&1; then
    tail -5 /tmp/c5-bootstrap-apt.log >&2
    echo "bootstrap: apt-get could not install: ${missing[*]} (see /tmp/c5-bootstrap-apt.log)" >&2
    exit 1
  fi
fi

# npm dependencies: skip when node_modules was installed from this exact lockfile.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.c5-lock-sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  echo "bootstrap: npm ci --ignore-scripts"
  # Install scripts are skipped; these keep ffmpeg-static and mediasoup from downloading if one runs.
  FFMPEG_BIN=/usr/bin/ffmpeg MEDIASOUP_WORKER_BIN=/dev/null npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > "$stamp"
fi

"$here/build-mediasoup-worker.sh"

# The relay's batched UDP sender (a Node-API addon, gcc only, cached like the worker); optional:
# without it the relay runs in JavaScript (one receive and one send per packet).
"$root/workers/relay/native/build.sh"

# The server (tsc) and the browser console (esbuild) into dist/: what npm start, npm test and the
# image run.
echo "bootstrap: npm run build (dist/ stamped with its sources' hash: scripts/build-stamp.mjs)"
node scripts/build-stamp.mjs

echo "bootstrap: ready in $(( $(date +%s) - started )) s (worker: $(node --import tsx server/toolchain.ts worker-bin))"
