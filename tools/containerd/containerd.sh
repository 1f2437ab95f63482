#!/usr/bin/env bash
# Private containerd for tests, the demo and developers. Usage: tools/containerd/containerd.sh start|stop|status <dir>
#   start   writes <dir>/config.toml and a bridge CNI conflist, starts containerd (pid in <dir>/containerd.pid),
#           waits for <dir>/containerd.sock and imports localhost/kedge/{busybox,pause}:1
#   stop    removes all pods, stops containerd by its recorded pid, unmounts leftovers under <dir>
#   status  exit 0 when running and answering
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
exec "$root/node_modules/.bin/tsx" "$here/containerd-cli.ts" "$@"
