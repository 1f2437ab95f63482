import { describe, expect, it } from 'vitest';
import { QuicUnavailableError } from '../src/errors';
import { isQuicAvailable, loadQuicWith } from '../src/quic/load-quic';

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

  it.runIf(process.platform === 'linux' && process.arch === 'x64')('quic loading - QUIC loads on linux-x64', async () => {
    expect(await isQuicAvailable()).toBe(true);
  });
});
