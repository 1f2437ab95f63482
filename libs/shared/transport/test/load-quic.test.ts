import { describe, expect, it } from 'vitest';
import { requires } from '@kedge/testkit';
import { QuicUnavailableError } from '../src/errors';
import { isQuicAvailable, loadQuic, loadQuicWith, type QuicRuntime } from '../src/quic/load-quic';

const quic = await requires('quic');

describe('quic loading', () => {
  it('quic loading - a missing native module becomes a QuicUnavailableError that says what to do', async () => {
    const missing = new Error('Failed requiring possible native bindings: @matrixai/quic-linux-arm64');
    const result = await loadQuicWith({
      quic: () => Promise.reject(missing),
      logger: () => import('@matrixai/logger'),
    });
    expect(result).toBeInstanceOf(QuicUnavailableError);
    const error = result as QuicUnavailableError;
    expect(error.name).toBe('QuicUnavailableError');
    expect(error.cause).toBe(missing);
    expect(error.message).toContain(`${process.platform}-${process.arch}`);
    expect(error.message).toContain('quic-linux-arm64');
    expect(error.message).toContain('--hub-protocol websocket');
  });

  // required wherever @matrixai/quic ships a native module (linux-x64 here); a gateway kind without one skips
  quic.it('quic loading - QUIC loads, with its server and client, where its native module exists', async () => {
    expect(await isQuicAvailable()).toBe(true);
    const runtime = await loadQuic();
    expect(runtime).not.toBeInstanceOf(QuicUnavailableError);
    expect(typeof (runtime as QuicRuntime).quic.QUICServer).toBe('function');
    expect(typeof (runtime as QuicRuntime).quic.QUICClient).toBe('function');
  });
});
