#!/usr/bin/env bash
# Installs the Debian packages kedge's tests and demo use. Safe to run again: apt skips what is there.
# Each one backs a test component (docs/testing.md): without it those tests fail unless KEDGE_TEST_ALLOW_MISSING names it.
# Runs as root (CI and the dev machines are root); elsewhere it uses sudo.
set -euo pipefail
packages=(
  openssl          # test fixtures build certificates with the real CLI
  ca-certificates
  containerd                 # libs/edge/cri tests and the demo run pods on a private containerd (CRI runtime.v1)
  runc
  containernetworking-plugins  # bridge/host-local/portmap/loopback CNI plugins, installed in /usr/lib/cni
  busybox-static             # libs/testing/containerd-fixture/src/oci-image.ts builds the offline busybox and pause images from /bin/busybox
  mosquitto                  # libs/edge/eventbus tests: a real external MQTT broker
  mosquitto-clients          # libs/edge/devicetwin tests: mosquitto_pub/mosquitto_sub against the embedded broker
  python3-pymodbus           # libs/edge/mappers tests: an independent Modbus TCP peer (Debian's pymodbus, /usr/bin/python3)
  python3-serial             # pymodbus dependency
  python3-serial-asyncio     # pymodbus dependency
  python3-grpcio             # tools/e2e/devices-dmi.test.ts: a DMI mapper on Python's gRPC stack (/usr/bin/python3)
  python3-grpc-tools         # its test compiles libs/edge/dmi/proto with python3 -m grpc_tools.protoc
  g++-aarch64-linux-gnu      # tools/package/cross-arm64.ts: cross-compiles better-sqlite3 & co. for the linux-arm64 edgecore tarball
  make                       # node-gyp runs make for those cross builds (python3 comes with python3-pymodbus)
  qemu-user-static           # tools/e2e/arm64-tarball.test.ts runs that tarball with qemu-aarch64-static (invoked explicitly, no binfmt)
  debootstrap                # tools/e2e/gateway-install.test.ts: a minimal Debian rootfs without Node.js (cached) for the one-line gateway install
  libjemalloc2               # tools/package/cloudcore-image.ts: the cloudcore image preloads jemalloc (half the RSS per edge connection)
  bsdutils                   # script(1): the kubectl exec -it / attach -it e2e tests run kubectl on a terminal (essential on Debian)
)
# kubectl: the machine image has v1.32 at /usr/bin/kubectl; where it is missing, Debian's client (older) stands in
command -v kubectl >/dev/null 2>&1 || packages+=(kubernetes-client)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present (${packages[*]})"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "system packages: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
