// The optional system components kedge's tests drive for real, by the stable names tests declare them with,
// and for each one a probe that says why it is missing (undefined when present) and what installs it.
// The names are a contract: KEDGE_TEST_ALLOW_MISSING, docs/testing.md and tools/ci/summarize-vitest.mjs use them.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { loadQuic } from '@kedge/transport';

export const COMPONENTS = [
  'containerd',
  'root',
  'busybox-static',
  'quic',
  'mosquitto',
  'mosquitto-clients',
  'pymodbus',
  'python-grpc',
  'kubectl',
  'script',
  'cross-arm64',
  'qemu-arm64',
  'debootstrap',
] as const;

export type Component = (typeof COMPONENTS)[number];

export const INSTALL_SYSTEM_DEPS = 'bash tools/install-system-deps.sh';

export interface ComponentDefinition {
  /** what it is, for the failure message and docs/testing.md */
  description: string;
  /** what to do when it is missing */
  install: string;
  /** `${platform}-${arch}` this machine kind can have it on; on any other the tests skip even when required */
  platforms?: readonly string[];
  /** why it is missing here, or undefined when it is present */
  probe(): string | undefined | Promise<string | undefined>;
}

/** Where Debian installs the CNI plugins (not /opt/cni/bin); a private containerd's config points here. */
export const CNI_BIN_DIR = '/usr/lib/cni';
/** Debian's busybox-static: the one binary of the offline busybox and pause images. */
export const BUSYBOX_PATH = '/bin/busybox';
/** what a private containerd's bridge network chain and the pods' loopback use */
const CNI_PLUGINS = ['bridge', 'host-local', 'portmap', 'loopback'];
/** Debian's pymodbus lives in the system python, not in a pyenv/venv python that may come first on PATH. */
const SYSTEM_PYTHON = '/usr/bin/python3';
const PYMODBUS_DIR = '/usr/lib/python3/dist-packages/pymodbus';
/** Debian's grpcio and grpc-tools (protoc as `python3 -m grpc_tools.protoc`, with the well-known protos) */
const PYTHON_GRPC_DIRS = ['/usr/lib/python3/dist-packages/grpc', '/usr/lib/python3/dist-packages/grpc_tools'];
const QEMU_AARCH64 = 'qemu-aarch64-static';
const ARM64_LOADER = '/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1';

function onPath(binary: string): boolean {
  return (process.env['PATH'] ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, binary)));
}

function missingBinaries(binaries: readonly string[]): string | undefined {
  const missing = binaries.filter((binary) => !onPath(binary));
  return missing.length > 0 ? `${missing.join(', ')} not on PATH` : undefined;
}

function missingFile(path: string): string | undefined {
  return existsSync(path) ? undefined : `${path} does not exist`;
}

const LINUX = ['linux-x64', 'linux-arm64'];
/** The platforms @matrixai/quic ships a native module for (its optionalDependencies). */
const QUIC_PLATFORMS = ['linux-x64', 'darwin-x64', 'darwin-arm64', 'win32-x64'];

export const COMPONENT_DEFINITIONS: Record<Component, ComponentDefinition> = {
  containerd: {
    description: 'containerd with runc and the CNI plugins: a private containerd runs real pods',
    install: `${INSTALL_SYSTEM_DEPS} (Debian packages containerd, runc, containernetworking-plugins)`,
    platforms: LINUX,
    probe: () => {
      const binaries = missingBinaries(['containerd', 'ctr', 'runc', 'containerd-shim-runc-v2']);
      if (binaries !== undefined) return binaries;
      const plugins = CNI_PLUGINS.filter((plugin) => !existsSync(join(CNI_BIN_DIR, plugin)));
      return plugins.length > 0 ? `CNI plugins ${plugins.join(', ')} not in ${CNI_BIN_DIR}` : undefined;
    },
  },
  root: {
    description: 'running as root: containerd with runc creates namespaces, cgroups and bridges',
    install: 'run the tests as root (CI and the dev machines are root)',
    platforms: LINUX,
    probe: () => {
      const uid = process.getuid?.();
      return uid === 0 ? undefined : `running as uid ${uid ?? 'unknown'}, not root`;
    },
  },
  'busybox-static': {
    description: `${BUSYBOX_PATH}, the one binary of the offline busybox and pause images`,
    install: `${INSTALL_SYSTEM_DEPS} (Debian package busybox-static)`,
    probe: () => missingFile(BUSYBOX_PATH),
  },
  quic: {
    description: "@matrixai/quic's native module: the QUIC hub transport",
    install: 'npm install (the optional dependency @matrixai/quic-<platform>-<arch>)',
    platforms: QUIC_PLATFORMS,
    probe: async () => {
      const quic = await loadQuic();
      return quic instanceof Error ? quic.message : undefined;
    },
  },
  mosquitto: {
    description: 'the mosquitto MQTT broker (/usr/sbin/mosquitto): the external EventBus broker',
    install: `${INSTALL_SYSTEM_DEPS} (Debian package mosquitto)`,
    probe: () => missingFile('/usr/sbin/mosquitto'),
  },
  'mosquitto-clients': {
    description: 'mosquitto_pub and mosquitto_sub: standard MQTT clients against the brokers',
    install: `${INSTALL_SYSTEM_DEPS} (Debian package mosquitto-clients)`,
    probe: () => missingBinaries(['mosquitto_pub', 'mosquitto_sub']),
  },
  pymodbus: {
    description: `Debian's pymodbus under ${SYSTEM_PYTHON}: an independent Modbus TCP peer`,
    install: `${INSTALL_SYSTEM_DEPS} (Debian packages python3-pymodbus, python3-serial, python3-serial-asyncio)`,
    probe: () => {
      const python = missingFile(SYSTEM_PYTHON);
      if (python !== undefined) return python;
      // where Debian puts it, instead of starting python: the probe runs in every test file that declares it
      return existsSync(PYMODBUS_DIR) ? undefined : `${PYMODBUS_DIR} does not exist`;
    },
  },
  'python-grpc': {
    description: `Debian's grpcio and grpc-tools under ${SYSTEM_PYTHON}: a DMI mapper built with another language's gRPC stack`,
    install: `${INSTALL_SYSTEM_DEPS} (Debian packages python3-grpcio, python3-grpc-tools)`,
    probe: () => missingFile(SYSTEM_PYTHON) ?? PYTHON_GRPC_DIRS.map(missingFile).find((reason) => reason !== undefined),
  },
  kubectl: {
    description: 'the real kubectl client against the API servers',
    install: `${INSTALL_SYSTEM_DEPS} (installs Debian's kubernetes-client where kubectl is missing)`,
    probe: () => missingBinaries(['kubectl']),
  },
  script: {
    description: 'script(1) from util-linux: gives kubectl a terminal for exec -it and attach -it',
    install: 'apt-get install bsdutils',
    probe: () => missingBinaries(['script']),
  },
  'cross-arm64': {
    description: 'the aarch64 cross toolchain: builds the linux-arm64 edgecore tarball on x86-64',
    install: `${INSTALL_SYSTEM_DEPS} (Debian packages g++-aarch64-linux-gnu, make)`,
    platforms: ['linux-x64'],
    probe: () => missingBinaries(['aarch64-linux-gnu-gcc', 'aarch64-linux-gnu-g++', 'make']),
  },
  'qemu-arm64': {
    description: `${QEMU_AARCH64} with the arm64 glibc: runs the linux-arm64 tarball under emulation`,
    install: `${INSTALL_SYSTEM_DEPS} (Debian packages qemu-user-static, g++-aarch64-linux-gnu)`,
    platforms: ['linux-x64'],
    probe: () => missingBinaries([QEMU_AARCH64]) ?? missingFile(ARM64_LOADER),
  },
  debootstrap: {
    description: 'debootstrap and chroot: a minimal Debian root filesystem without Node.js, for the gateway install test',
    install: `${INSTALL_SYSTEM_DEPS} (Debian package debootstrap; the first build needs deb.debian.org, then it is cached)`,
    platforms: ['linux-x64', 'linux-arm64'],
    probe: () => missingBinaries(['debootstrap', 'chroot', 'unshare']),
  },
};

export function isComponent(name: string): name is Component {
  return (COMPONENTS as readonly string[]).includes(name);
}

/** `${process.platform}-${process.arch}`: the machine kind, as component platforms name it. */
export function machineKind(): string {
  return `${process.platform}-${process.arch}`;
}
