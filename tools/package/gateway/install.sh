#!/bin/sh
# kedge gateway installer, served by cloudcore at https://<cloud>:10002/install.sh:
#
#   curl -fsSLk https://<cloud>:10002/install.sh | sh -s -- --token <token> [--node-name <name>] [--labels k=v,...]
#
# Trust: the join token starts with the sha256 of the cluster CA's certificate (DER). Before it sends the
# token or downloads anything else, this script fetches /ca.crt, checks that hash, and from then on talks to
# the cloud only with `curl --cacert <that CA>`. The bundle's sha256 must match the cloud's SHA256SUMS, and
# every file in it the bundle's own SHA256SUMS. (Fetching this script itself with -k trusts the network for
# the script: docs/deploy.md shows how to fetch it verified.)
#
# Options:
#   --token <token> | --token-file <file>   join token from `kedgeadm token create` (required to install)
#   --node-name <name>     node name (default: this host's name)
#   --labels <k=v,...>     labels for the Node
#   --prefix <dir>         where everything goes (default /opt/kedge)
#   --no-pods              join even without containerd: edgecore runs with pods off (edged.enable: false)
#   --runtime-endpoint <unix socket>   containerd's CRI socket (default unix:///run/containerd/containerd.sock)
#   --cloud <host> --https-port <port> --ws-port <port>   override the address this script was served from
#   --uninstall            stop edgecore, `kedgeadm reset`, and remove everything this script wrote
# POSIX sh (dash, busybox ash); needs curl, tar, gzip, sha256sum, base64. Nothing else, no Node.js.
set -eu

# filled in by cloudcore when it serves this script: the address the request came to
CLOUD_HOST='__KEDGE_CLOUD_HOST__'
HTTPS_PORT='__KEDGE_HTTPS_PORT__'
WS_PORT='__KEDGE_WS_PORT__'

PREFIX=/opt/kedge
TOKEN=''
TOKEN_FILE=''
NODE_NAME=''
LABELS=''
NO_PODS=0
UNINSTALL=0
RUNTIME_ENDPOINT='unix:///run/containerd/containerd.sock'
UNIT=/etc/systemd/system/kedge-edgecore.service

say() { printf 'kedge-install: %s\n' "$*" >&2; }
die() {
  code=$1
  shift
  printf 'kedge-install: error: %s\n' "$*" >&2
  exit "$code"
}
need_value() { [ $# -ge 2 ] && [ -n "$2" ] || die 2 "$1 needs a value"; }

while [ $# -gt 0 ]; do
  case $1 in
    --token) need_value "$@"; TOKEN=$2; shift 2 ;;
    --token-file) need_value "$@"; TOKEN_FILE=$2; shift 2 ;;
    --node-name) need_value "$@"; NODE_NAME=$2; shift 2 ;;
    --labels) need_value "$@"; LABELS=$2; shift 2 ;;
    --prefix) need_value "$@"; PREFIX=$2; shift 2 ;;
    --cloud) need_value "$@"; CLOUD_HOST=$2; shift 2 ;;
    --https-port) need_value "$@"; HTTPS_PORT=$2; shift 2 ;;
    --ws-port) need_value "$@"; WS_PORT=$2; shift 2 ;;
    --runtime-endpoint) need_value "$@"; RUNTIME_ENDPOINT=$2; shift 2 ;;
    --no-pods) NO_PODS=1; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    -h | --help) sed -n '2,22p' "$0" 2>/dev/null || say 'see docs/deploy.md'; exit 0 ;;
    *) die 2 "unknown option $1 (see --help)" ;;
  esac
done

case $PREFIX in
  /*) ;;
  *) die 2 "--prefix $PREFIX: expected an absolute path" ;;
esac
case $PREFIX in
  *[!A-Za-z0-9/._-]* | / | */../* | */..) die 2 "--prefix $PREFIX: use a plain absolute path (letters, digits, / . _ -)" ;;
esac
PREFIX=${PREFIX%/}
RECORD=$PREFIX/.install-written
CONFIG_PREFIX=$PREFIX/etc
DATA_DIR=$PREFIX/data

[ "$(id -u)" = 0 ] || die 2 'run as root (… | sudo sh -s -- ...): it installs under '"$PREFIX"' and a systemd unit'

# --- the record of what this script wrote: "file <path>", "dir <path>" (removed when empty), "tree <path>" ---
record() {
  [ -f "$RECORD" ] || { : >"$RECORD" && chmod 0600 "$RECORD"; }
  grep -qxF "$1 $2" "$RECORD" || printf '%s %s\n' "$1" "$2" >>"$RECORD"
}
make_dir() { # mkdir -p, then record each directory it created
  created=''
  d=$1
  while [ ! -d "$d" ]; do
    created="$d $created"
    d=$(dirname "$d")
  done
  mkdir -p -m 0755 "$1"
  for d in $created; do record dir "$d"; done
}
systemd_running() { [ "$(cat /proc/1/comm 2>/dev/null || true)" = systemd ]; }

uninstall() {
  [ -f "$RECORD" ] || die 1 "nothing to uninstall: $RECORD does not exist (this script removes only what it recorded)"
  if grep -qxF "file $UNIT" "$RECORD" && systemd_running; then
    systemctl disable --now kedge-edgecore.service >/dev/null 2>&1 || say 'systemctl disable --now kedge-edgecore failed; removing it anyway'
  elif ! systemd_running; then
    say 'if you started edgecore by hand, stop it before uninstalling'
  fi
  if [ -f "$CONFIG_PREFIX/.kedgeadm-written.json" ] && [ -x "$PREFIX/bin/kedgeadm" ]; then
    say "kedgeadm reset --prefix $CONFIG_PREFIX"
    "$PREFIX/bin/kedgeadm" reset --prefix "$CONFIG_PREFIX" >&2 || die 1 'kedgeadm reset failed; fix that and run --uninstall again'
  fi
  while read -r kind path; do
    case $kind in
      file) rm -f "$path" ;;
      tree) rm -rf "$path" ;;
    esac
  done <"$RECORD"
  [ -f "$UNIT" ] || ! systemd_running || systemctl daemon-reload >/dev/null 2>&1 || true
  # directories deepest first, and only when empty: never what someone else put there
  grep '^dir ' "$RECORD" | cut -d' ' -f2- | awk '{ print length($0) " " $0 }' | sort -rn | cut -d' ' -f2- >"$RECORD.dirs"
  rm -f "$RECORD"
  while read -r dir; do rmdir "$dir" 2>/dev/null || true; done <"$RECORD.dirs"
  rm -f "$RECORD.dirs"
  rmdir "$PREFIX" 2>/dev/null || true
  say "uninstalled: removed what was recorded under $PREFIX"
}

if [ "$UNINSTALL" = 1 ]; then
  uninstall
  exit 0
fi

# --- what we need, before anything touches the network ---
missing=''
for tool in curl tar gzip sha256sum base64 mktemp uname awk; do
  command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
[ -z "$missing" ] || die 2 "missing tools:$missing (Debian: apt-get install curl ca-certificates tar gzip coreutils)"

if [ -n "$TOKEN_FILE" ]; then
  [ -z "$TOKEN" ] || die 2 'give the token once: --token or --token-file'
  [ -r "$TOKEN_FILE" ] || die 2 "--token-file $TOKEN_FILE: cannot be read"
  TOKEN=$(tr -d ' \r\n' <"$TOKEN_FILE")
fi
[ -n "$TOKEN" ] || die 2 'a join token is needed: --token <token> (on the cloud: kedgeadm token create --node <name>)'
CA_HASH=${TOKEN%%.*}
case $CA_HASH in
  *[!0-9a-f]*) die 2 '--token: the first part must be the 64 hex digit sha256 of the cluster CA; copy the whole token' ;;
esac
[ ${#CA_HASH} = 64 ] || die 2 '--token: the first part must be the 64 hex digit sha256 of the cluster CA; copy the whole token'

case $CLOUD_HOST in
  '' | __*) die 2 'no cloud address: give --cloud <host> (the script was not served by cloudcore)' ;;
  *[!A-Za-z0-9.:[\]-]*) die 2 "--cloud $CLOUD_HOST: expected a host name or IP address" ;;
esac
for p in "$HTTPS_PORT" "$WS_PORT"; do
  case $p in '' | *[!0-9]*) die 2 "port $p: expected a number (--https-port, --ws-port)" ;; esac
done
case $CLOUD_HOST in
  *:*) case $CLOUD_HOST in \[*) ;; *) CLOUD_HOST="[$CLOUD_HOST]" ;; esac ;;
esac
BASE="https://$CLOUD_HOST:$HTTPS_PORT"

case $(uname -m) in
  x86_64 | amd64) ARCH=x64 ;;
  aarch64 | arm64) ARCH=arm64 ;;
  *) die 2 "this machine is $(uname -m); kedge gateway bundles exist for x86_64 and aarch64" ;;
esac

[ -n "$NODE_NAME" ] || NODE_NAME=$(uname -n | tr 'A-Z' 'a-z')

# --- containerd: pods need it; without it stop here (nothing joined), or join with pods off ---
SOCKET=${RUNTIME_ENDPOINT#unix://}
if [ "$NO_PODS" = 0 ] && [ ! -S "$SOCKET" ]; then
  say "containerd is not running here: no socket at $SOCKET."
  say 'Pods need it. On Debian / Raspberry Pi OS:'
  say '    apt-get install containerd runc containernetworking-plugins && systemctl enable --now containerd'
  say 'then run this again; or add --no-pods to join now with pods off (devices and MQTT still work).'
  die 3 'stopped before joining: nothing was downloaded, installed or joined'
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

# --- pin the cluster CA: its sha256 (of the DER) must be the one in the token ---
say "checking the cluster CA at $BASE/ca.crt against the token"
curl -fsS --proto '=https' -k --max-time 30 --max-filesize 65536 -o "$TMP/ca.body" "$BASE/ca.crt" ||
  die 4 "cannot fetch $BASE/ca.crt (is cloudcore's certificate port reachable?); the token was not sent"
tr -d '\r' <"$TMP/ca.body" >"$TMP/ca.lf"
# exactly one CERTIFICATE block and nothing else (a second block would be trusted by curl too)
[ "$(grep -c -- '-----BEGIN' "$TMP/ca.lf" || true)" = 1 ] && [ "$(grep -c -- '-----END' "$TMP/ca.lf" || true)" = 1 ] &&
  [ "$(grep -cx -- '-----BEGIN CERTIFICATE-----' "$TMP/ca.lf" || true)" = 1 ] &&
  [ "$(grep -cx -- '-----END CERTIFICATE-----' "$TMP/ca.lf" || true)" = 1 ] &&
  ! grep -qvE -- '^(-----(BEGIN|END) CERTIFICATE-----|[A-Za-z0-9+/=]{1,76}|[[:space:]]*)$' "$TMP/ca.lf" ||
  die 4 "refusing: $BASE/ca.crt is not exactly one PEM certificate; the token was not sent, nothing was installed"
sed -n '/^-----BEGIN CERTIFICATE-----$/,/^-----END CERTIFICATE-----$/p' "$TMP/ca.lf" | sed '1d;$d' | tr -d ' \t' >"$TMP/ca.b64"
base64 -d <"$TMP/ca.b64" >"$TMP/ca.der" 2>/dev/null || die 4 "refusing: $BASE/ca.crt holds malformed base64; the token was not sent"
ACTUAL=$(sha256sum "$TMP/ca.der" | cut -d' ' -f1)
if [ "$ACTUAL" != "$CA_HASH" ]; then
  die 4 "refusing: the CA served by $BASE has sha256 $ACTUAL, but the token pins $CA_HASH. The token is for another cluster, or the connection is intercepted; the token was not sent, nothing was downloaded or installed."
fi
# re-encoded from the DER that was hashed: only that certificate is trusted from here on
{
  echo '-----BEGIN CERTIFICATE-----'
  base64 -w 64 <"$TMP/ca.der"
  echo '-----END CERTIFICATE-----'
} >"$TMP/ca.crt"
say "cluster CA sha256 $ACTUAL matches the token"
pinned() { curl -fsS --proto '=https' --cacert "$TMP/ca.crt" --max-time "$1" "$2" -o "$3"; }

# --- the bundle list (sha256sum format) and this machine's bundle ---
pinned 30 "$BASE/bundles/SHA256SUMS" "$TMP/sums" ||
  die 5 "cannot fetch $BASE/bundles/SHA256SUMS over the pinned CA (cloudcore serves bundles from cloudHub.https.bundleDir)"
if grep -qvE '^[0-9a-f]{64}  [A-Za-z0-9][A-Za-z0-9._+-]*$' "$TMP/sums" || grep -q '\.\.' "$TMP/sums"; then
  die 5 "refusing: $BASE/bundles/SHA256SUMS names something that is not a plain bundle file name (a path?); nothing was installed"
fi
LINE=$(grep -E "  kedge-gateway-[0-9A-Za-z.+-]+-linux-$ARCH\.tar\.gz\$" "$TMP/sums" | head -n 1 || true)
[ -n "$LINE" ] || die 5 "the cloud has no bundle for linux-$ARCH (build it: node --import tsx tools/package/gateway-bundle.ts --arch $ARCH)"
SHA=${LINE%%  *}
NAME=${LINE#*  }
TOP=${NAME%.tar.gz}
RELEASE=$PREFIX/releases/$(printf '%s' "$SHA" | cut -c1-16)

if [ -f "$RELEASE/.complete" ] && [ "$(cat "$RELEASE/.complete")" = "$SHA" ]; then
  say "$NAME ($SHA) is already installed in $RELEASE"
else
  say "downloading $NAME"
  pinned 600 "$BASE/bundles/$NAME" "$TMP/bundle.tgz" || die 5 "cannot download $BASE/bundles/$NAME; nothing was installed"
  GOT=$(sha256sum "$TMP/bundle.tgz" | cut -d' ' -f1)
  [ "$GOT" = "$SHA" ] || die 6 "refusing: $NAME has sha256 $GOT, but the cloud's SHA256SUMS says $SHA; nothing was installed"
  tar -tzf "$TMP/bundle.tgz" >"$TMP/entries" || die 6 "refusing: $NAME is not a readable tar.gz; nothing was installed"
  if grep -qvE "^$TOP(/|\$)" "$TMP/entries" || grep -qE '(^|/)\.\.(/|$)' "$TMP/entries"; then
    die 6 "refusing: $NAME has entries outside $TOP/; nothing was installed"
  fi
  make_dir "$PREFIX/releases"
  STAGING=$(mktemp -d "$PREFIX/releases/.staging.XXXXXX")
  tar -xzf "$TMP/bundle.tgz" -C "$STAGING"
  if ! (cd "$STAGING/$TOP" && sha256sum -c SHA256SUMS >/dev/null 2>&1); then
    rm -rf "$STAGING"
    die 6 "refusing: files in $NAME do not match its SHA256SUMS; nothing was installed"
  fi
  printf '%s\n' "$SHA" >"$STAGING/$TOP/.complete"
  rm -rf "$RELEASE"
  mv "$STAGING/$TOP" "$RELEASE" # one rename: the release appears whole or not at all
  rmdir "$STAGING"
  record tree "$RELEASE"
  say "installed $NAME in $RELEASE"
fi

# --- launchers in $PREFIX/bin, each replaced by one rename ---
make_dir "$PREFIX/bin"
for app in edgecore kedgeadm; do
  printf '#!/bin/sh\n# written by the kedge installer: the bundle in %s\nexec %s "$@"\n' "$RELEASE" "$RELEASE/bin/$app" >"$PREFIX/bin/.$app.new"
  chmod 0755 "$PREFIX/bin/.$app.new"
  mv -f "$PREFIX/bin/.$app.new" "$PREFIX/bin/$app"
  record file "$PREFIX/bin/$app"
done
# older releases go once the launchers point at this one
for old in "$PREFIX"/releases/*; do
  [ -d "$old" ] && [ "$old" != "$RELEASE" ] || continue
  rm -rf "$old"
  grep -vxF "tree $old" "$RECORD" >"$RECORD.new" || true
  mv -f "$RECORD.new" "$RECORD"
done

# --- join, once ---
make_dir "$CONFIG_PREFIX"
record tree "$DATA_DIR" # edgecore's data (its database, synced objects, keys): ours to remove on --uninstall
if [ -f "$CONFIG_PREFIX/.kedgeadm-written.json" ]; then
  JOINED=$(sed -n 's/^nodeName: *//p' "$CONFIG_PREFIX/edgecore.yaml" 2>/dev/null || true)
  say "already joined as ${JOINED:-?} ($CONFIG_PREFIX/.kedgeadm-written.json); not joining again"
  [ -z "$JOINED" ] || [ "$JOINED" = "$NODE_NAME" ] || say "note: --node-name $NODE_NAME differs; to rejoin run with --uninstall first"
else
  set -- join --cloud "$CLOUD_HOST" --https-port "$HTTPS_PORT" --ws-port "$WS_PORT" --node-name "$NODE_NAME" \
    --prefix "$CONFIG_PREFIX" --data-dir "$DATA_DIR" --edgecore-command "$PREFIX/bin/edgecore" --runtime-endpoint "$RUNTIME_ENDPOINT" --token -
  [ -z "$LABELS" ] || set -- "$@" --labels "$LABELS"
  [ "$NO_PODS" = 0 ] || set -- "$@" --no-pods
  say "kedgeadm join as $NODE_NAME (kedgeadm pins the CA with the token again)"
  printf '%s\n' "$TOKEN" | "$PREFIX/bin/kedgeadm" "$@" >&2 || die 7 "kedgeadm join failed (above); the bundle stays installed, run this again after fixing it"
fi
[ "$NO_PODS" = 0 ] || say 'pods are off (--no-pods): install containerd and set edged.enable: true in '"$CONFIG_PREFIX/edgecore.yaml"' to run pods'

# --- start ---
START="$PREFIX/bin/edgecore --config $CONFIG_PREFIX/edgecore.yaml"
if systemd_running; then
  cp "$CONFIG_PREFIX/systemd/edgecore.service" "$UNIT.new"
  mv -f "$UNIT.new" "$UNIT"
  record file "$UNIT"
  systemctl daemon-reload
  systemctl enable kedge-edgecore.service >/dev/null 2>&1
  systemctl restart kedge-edgecore.service
  say "edgecore runs as systemd unit kedge-edgecore (journalctl -u kedge-edgecore)"
else
  say "systemd is not running here (PID 1 is $(cat /proc/1/comm 2>/dev/null || echo unknown)); start edgecore yourself, e.g. under your init system:"
  printf 'start edgecore: %s\n' "$START"
fi
say "done. Undo with: sh install.sh --uninstall --prefix $PREFIX (or curl ... | sh -s -- --uninstall)"
