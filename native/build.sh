#!/bin/sh
# Builds the NFQUEUE helper for the nft engine at install time (npm ci runs this). The proxy
# engine needs nothing native, so a machine without the toolchain still installs: it is told
# what is missing, and the nft engine reports the same at start.
cd "$(dirname "$0")" || exit 0
mkdir -p build
if cc -O2 -Wall -o build/lvsd-nfq lvsd-nfq.c -lnetfilter_queue -lmnl 2>build/cc.log; then
  echo "lvsd: built native/build/lvsd-nfq (nft engine helper)"
else
  echo "lvsd: nft engine helper not built (needs cc, libnetfilter-queue-dev, libmnl-dev); the proxy engine works without it"
  sed 's/^/  /' build/cc.log | head -5
fi
# The proxy engine's native TCP relay (libc only); without it the proxy relays in Node.
if cc -O2 -Wall -o build/lvsd-relay lvsd-relay.c 2>build/cc-relay.log; then
  echo "lvsd: built native/build/lvsd-relay (proxy engine TCP relay)"
else
  echo "lvsd: proxy relay helper not built (needs cc); the proxy engine relays in Node instead"
  sed 's/^/  /' build/cc-relay.log | head -5
fi
# SO_MARK for health checks with `fwmark` (a tiny N-API addon; Node's headers from npm's nodedir).
NODE_INC="${npm_config_nodedir:-/usr}/include/node"
if cc -O2 -Wall -shared -fPIC -I"$NODE_INC" -o build/lvsd-sockopt.node lvsd-sockopt.c 2>build/cc-sockopt.log; then
  echo "lvsd: built native/build/lvsd-sockopt.node (checker fwmark)"
else
  echo "lvsd: checker fwmark addon not built (needs cc and Node's headers in $NODE_INC); checks with fwmark run unmarked"
  sed 's/^/  /' build/cc-sockopt.log | head -5
fi
exit 0
