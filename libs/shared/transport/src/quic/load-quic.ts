// @matrixai/quic needs a native module that exists only for some platforms, so it is imported lazily:
// loading this library never fails, and a hub asked for QUIC gets an error that says what to do.
import type * as QuicModule from '@matrixai/quic';
import type * as LoggerModule from '@matrixai/logger';
import { QuicUnavailableError } from '../errors';

export interface QuicRuntime {
  quic: typeof QuicModule;
  /** a logger that drops everything: @matrixai/quic logs every connection at INFO to stderr otherwise */
  logger: LoggerModule.default;
}

export interface QuicImporters {
  quic: () => Promise<typeof QuicModule>;
  logger: () => Promise<typeof LoggerModule>;
}

const defaultImporters: QuicImporters = {
  quic: () => import('@matrixai/quic'),
  logger: () => import('@matrixai/logger'),
};

let loaded: Promise<QuicRuntime | QuicUnavailableError> | undefined;

/** Loads QUIC with the given importers; never throws, returns QuicUnavailableError instead. */
export async function loadQuicWith(importers: QuicImporters): Promise<QuicRuntime | QuicUnavailableError> {
  try {
    const [quic, loggerModule] = await Promise.all([importers.quic(), importers.logger()]);
    const logger = new loggerModule.default('kedge-quic', loggerModule.LogLevel.SILENT, []);
    return { quic, logger };
  } catch (error) {
    return new QuicUnavailableError(`${process.platform}-${process.arch}`, { cause: error });
  }
}

/** The QUIC runtime, loaded once; a QuicUnavailableError when this machine cannot run it. */
export function loadQuic(): Promise<QuicRuntime | QuicUnavailableError> {
  loaded ??= loadQuicWith(defaultImporters);
  return loaded;
}

export async function isQuicAvailable(): Promise<boolean> {
  return !((await loadQuic()) instanceof QuicUnavailableError);
}

/** The runtime, or throws QuicUnavailableError: for the listen and dial entry points. */
export async function requireQuic(): Promise<QuicRuntime> {
  const runtime = await loadQuic();
  if (runtime instanceof QuicUnavailableError) throw runtime;
  return runtime;
}
