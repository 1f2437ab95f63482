// The only door to @peculiar/x509, opened on first use: it costs about 3 MB of heap, and an edge only
// needs it to make a CSR (join, renewal) or to issue; checking its own certificate uses node:crypto.
// The library resolves its services through tsyringe, which throws at load time unless the Reflect
// metadata polyfill is evaluated first, so the polyfill is imported (and awaited) before it.
import { webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

export type X509Module = typeof X509;

let loading: Promise<X509Module> | undefined;

export function loadX509(): Promise<X509Module> {
  loading ??= (async () => {
    await import('reflect-metadata');
    const loaded = await import('@peculiar/x509');
    // bundled (esbuild), the library's CommonJS build arrives as the default export of the namespace
    const x509 = 'cryptoProvider' in loaded ? loaded : (loaded as { default: X509Module }).default;
    x509.cryptoProvider.set(webcrypto);
    return x509;
  })();
  return loading;
}
