import net from 'node:net';
import { AttributeIds, OPCUAClient } from 'node-opcua-client';
import { afterAll, describe, expect, it } from 'vitest';
import { removePki, startOpcUaServer } from '../src/index';

afterAll(() => removePki());

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('opcua fixture', () => {
  it('serves its variables on a loopback port and stops', async () => {
    const server = await startOpcUaServer(await freePort(), { Setpoint: 17 });
    const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0 } });
    try {
      await client.connect(server.url);
      const session = await client.createSession();
      const value = await session.read({ nodeId: 'ns=1;s=Setpoint', attributeId: AttributeIds.Value });
      expect(value.value.value).toBe(17);
      server.set('Setpoint', 18);
      expect(server.get('Setpoint')).toBe(18);
      await session.close();
    } finally {
      await client.disconnect();
      await server.stop();
    }
  });
});
