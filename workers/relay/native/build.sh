#!/usr/bin/env bash
# Builds workers/relay/native/udp_batch.c and relay_loop.c (the relay's batched UDP sender and its
# native receive-and-rewrite path, one Node-API addon) with
# gcc against Node's headers, into the cache the relay loads it from (udpBatch.ts). Does nothing
# when the cached addon was built from the same source. Without gcc or the headers it says so and
# succeeds: the relay then runs in JavaScript (one receive and one send per packet).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
out=$(cd "$root" && node --import tsx -e "import('./workers/relay/native/udpBatch.ts').then((m) => console.log(m.udpBatchAddonPath()))")
headers=$(dirname "$(dirname "$(command -v node)")")/include/node
[ -f "$headers/node_api.h" ] || headers=/usr/include/node
hash=$(cat "$here/udp_batch.c" "$here/relay_loop.c" | sha256sum | cut -d' ' -f1)
if [ -f "$out" ] && [ "$(cat "$out.sha256" 2>/dev/null)" = "$hash" ]; then
  echo "relay udp_batch addon: cached at $out"
  exit 0
fi
if ! command -v gcc >/dev/null || [ ! -f "$headers/node_api.h" ]; then
  echo "relay udp_batch addon: not built (needs gcc and Node's headers, node_api.h); the relay runs in JavaScript, one send per packet" >&2
  exit 0
fi
mkdir -p "$(dirname "$out")"
gcc -O2 -Wall -Wextra -std=gnu11 -shared -fPIC -I"$headers" -o "$out.tmp" "$here/udp_batch.c" "$here/relay_loop.c"
mv "$out.tmp" "$out"
echo "$hash" > "$out.sha256"
echo "relay udp_batch addon: built $out"
