// The only door to @peculiar/x509, opened on first use: it costs about 3 MB of heap, and an edge only
// needs it to make a CSR (join, renewal) or to issue; checking its own certificate uses node:crypto.
// The library resolves its services through tsyringe, which throws at load time unless the Reflect
// metadata polyfill is evaluated first, so the polyfill is imported (and awaited) before it.
import { webcrypto } from 'node:crypto';

export type X509Module = typeof import('@peculiar/x509');

let loading: Promise<X509Module> | undefined;

export function loadX509(): Promise<X509Module> {
  loading ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto);
    return x509;
  })();
  return loading;
}
