#!/usr/bin/env bash
# Builds the mediasoup worker from the npm package's own C++ sources against Debian's libraries,
# with no download (see shared FINDINGS.md), into a cache directory outside the repository keyed by
# mediasoup version and OS release. Does nothing when the cached binary is already there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
bin=$(cd "$root" && node --import tsx server/toolchain.ts worker-bin)
dir=$(dirname "$bin")
if [ -x "$bin" ] && [ "${FORCE_WORKER_BUILD:-0}" != 1 ]; then
  echo "mediasoup worker: cached at $bin"
  exit 0
fi
src_pkg="$root/node_modules/mediasoup/worker"
[ -f "$src_pkg/meson.build" ] || { echo "mediasoup worker sources missing: run npm ci --ignore-scripts first" >&2; exit 1; }

mkdir -p "$dir"
work=$(mktemp -d "$dir/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$src_pkg" "$work/worker"
cd "$work/worker"

# Meson >= 1.1 is required. Prefer a venv from the machine's pip mirror; fall back to Debian's
# meson with the version check relaxed.
meson_bin=""
venv="$(dirname "$dir")/meson-venv"
if [ -x "$venv/bin/meson" ]; then
  meson_bin="$venv/bin/meson"
elif /usr/bin/python3 -m venv "$venv" >/dev/null 2>&1 \
  && "$venv/bin/pip" install -q --disable-pip-version-check 'meson>=1.1,<2' >/dev/null 2>&1; then
  meson_bin="$venv/bin/meson"
else
  rm -rf "$venv"
  command -v meson >/dev/null || { echo "install meson: apt-get install -y meson ninja-build" >&2; exit 1; }
  meson_bin=$(command -v meson)
  sed -i "s/meson_version: '>= 1.1.0'/meson_version: '>= 0.63.0'/" meson.build
  echo "mediasoup worker: using Debian's meson $("$meson_bin" --version) with the version check relaxed"
fi

# Replace each downloaded subproject with a stub that hands over the system library.
mkdir -p subprojects/.wraps-aside
mv subprojects/*.wrap subprojects/.wraps-aside/
stub() { mkdir -p "subprojects/$1"; cat > "subprojects/$1/meson.build"; }
opts() { cat > "subprojects/$1/meson_options.txt"; }

stub openssl <<'M'
project('openssl', 'c')
openssl_dep = dependency('openssl', allow_fallback: false)
libcrypto_lib = static_library('crypto_placeholder', build_by_default: false)
libssl_lib = static_library('ssl_placeholder', build_by_default: false)
M
stub nlohmann_json <<'M'
project('nlohmann_json', 'cpp')
nlohmann_json_dep = dependency('nlohmann_json', allow_fallback: false)
M
stub libuv <<'M'
project('libuv', 'c')
libuv_dep = dependency('libuv', allow_fallback: false)
libuv = static_library('uv_placeholder', build_by_default: false)
M
opts libuv <<'M'
option('build_tests', type: 'boolean', value: false)
option('build_benchmarks', type: 'boolean', value: false)
M
stub libsrtp2 <<'M'
project('libsrtp2', 'c')
libsrtp2_dep = declare_dependency(
  dependencies: dependency('libsrtp2', allow_fallback: false),
  compile_args: ['-I/usr/include/srtp2'],
)
libsrtp2 = static_library('srtp2_placeholder', build_by_default: false)
M
opts libsrtp2 <<'M'
option('crypto-library', type: 'string', value: 'openssl')
option('crypto-library-kdf', type: 'feature', value: 'disabled')
option('tests', type: 'feature', value: 'disabled')
M
stub usrsctp <<'M'
project('usrsctp', 'c')
usrsctp_dep = dependency('usrsctp', allow_fallback: false)
usrsctp = static_library('usrsctp_placeholder', build_by_default: false)
M
opts usrsctp <<'M'
option('sctp_build_programs', type: 'boolean', value: false)
M
stub abseil-cpp <<'M'
project('abseil-cpp', 'cpp')
absl_container_dep = dependency('absl_flat_hash_map', allow_fallback: false)
absl_strings_dep = dependency('absl_strings', allow_fallback: false)
absl_types_dep = dependency('absl_optional', allow_fallback: false)
absl_container_lib = static_library('absl_placeholder', build_by_default: false)
M
stub catch2 <<'M'
project('catch2', 'cpp')
catch2_dep = declare_dependency()
M

jobs=$(nproc)
"$meson_bin" setup build --wrap-mode=nodownload --buildtype release -Db_ndebug=true >"$work/setup.log" 2>&1 \
  || { tail -30 "$work/setup.log" >&2; echo "mediasoup worker: meson setup failed (log above)" >&2; exit 1; }
PATH="$(dirname "$meson_bin"):$PATH" "$meson_bin" compile -C build -j "$jobs" mediasoup-worker >"$work/compile.log" 2>&1 \
  || { tail -40 "$work/compile.log" >&2; echo "mediasoup worker: compile failed (log above)" >&2; exit 1; }
strip build/mediasoup-worker 2>/dev/null || true
install -m 0755 build/mediasoup-worker "$bin.tmp"
mv -f "$bin.tmp" "$bin"
echo "mediasoup worker: built $bin"
