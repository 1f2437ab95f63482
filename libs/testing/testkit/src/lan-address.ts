// An address of this host that is not loopback. A request sent to it arrives from a non-loopback peer,
// which is what the "refused from the LAN" attack tests need without a second host.
import { networkInterfaces } from 'node:os';

/** @throws when the host has no non-loopback IPv4 address (the test cannot play a LAN peer then) */
export function lanAddress(): string {
  const address = Object.values(networkInterfaces())
    .flat()
    .find((entry) => entry !== undefined && entry.family === 'IPv4' && !entry.internal)?.address;
  if (address === undefined) throw new Error('this test needs a non-loopback IPv4 address on the host (e.g. eth0) to act as a peer on the LAN');
  return address;
}
