import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { describeCertificate, isIssuedBy, keyMatchesCertificate, nodeNameOf } from '@kedge/pki';
import {
  NodeIdentityError,
  bootstrapNodeCertificate,
  rotateNodeCertificate,
  scheduleRotation,
  type NodeIdentity,
} from '../../src/certificates/index';
import { startCloudCertificateServer, type CloudCertificateServer } from './cloud-certificate-server';

let cloud: CloudCertificateServer;
let cloudDir: string;
let dir: string;
let joined: NodeIdentity;

beforeAll(async () => {
  cloudDir = await mkdtemp(join(tmpdir(), 'kedge-cloud-'));
  cloud = await startCloudCertificateServer(cloudDir);
});
afterAll(async () => {
  await cloud.stop();
  await rm(cloudDir, { recursive: true, force: true });
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kedge-edge-'));
  const token = await cloud.token('edge-1');
  joined = await bootstrapNodeCertificate({ serverUrl: cloud.url, token, nodeName: 'edge-1', dir });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function closedPortUrl(): Promise<string> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return `https://127.0.0.1:${port}`;
}

function lifetimePoint(certPem: string, fraction: number): Date {
  const { notBefore, notAfter } = describeCertificate(certPem);
  return new Date(notBefore.getTime() + fraction * (notAfter.getTime() - notBefore.getTime()));
}

describe('rotation', () => {
  test('rotation - the current certificate buys a new one with a new key and serial, replacing the files', async () => {
    const rotated = await rotateNodeCertificate({ serverUrl: cloud.url, dir, nodeName: 'edge-1' });
    expect(describeCertificate(rotated.certPem).serialNumber).not.toBe(describeCertificate(joined.certPem).serialNumber);
    expect(rotated.keyPem).not.toBe(joined.keyPem);
    expect(await nodeNameOf(rotated.certPem)).toBe('edge-1');
    expect(isIssuedBy(rotated.certPem, cloud.authority.certPem)).toBe(true);
    expect(keyMatchesCertificate(rotated.keyPem, rotated.certPem)).toBe(true);
    expect(await readFile(join(dir, 'node.crt'), 'utf8')).toBe(rotated.certPem);
    expect(await readFile(join(dir, 'node.key'), 'utf8')).toBe(rotated.keyPem);
    expect(cloud.events.at(-1)).toMatchObject({ type: 'issued', nodeName: 'edge-1', via: 'certificate' });
  });

  test('rotation - a certificate of another node is not used to renew, nor an expired or missing one', async () => {
    const asOther = await rotateNodeCertificate({ serverUrl: cloud.url, dir, nodeName: 'edge-2' }).catch((error: unknown) => error);
    expect(asOther).toBeInstanceOf(NodeIdentityError);
    expect(asOther).toMatchObject({ code: 'NODE_NAME_MISMATCH' });

    const empty = await mkdtemp(join(tmpdir(), 'kedge-empty-'));
    try {
      await expect(rotateNodeCertificate({ serverUrl: cloud.url, dir: empty, nodeName: 'edge-1' })).rejects.toMatchObject({
        code: 'NOT_BOOTSTRAPPED',
      });
    } finally {
      await rm(empty, { recursive: true, force: true });
    }

    await writeFile(join(dir, 'node.key'), 'not a key');
    await expect(rotateNodeCertificate({ serverUrl: cloud.url, dir, nodeName: 'edge-1' })).rejects.toMatchObject({
      code: 'NOT_BOOTSTRAPPED',
    });
  });

  test('rotation schedule - renews once the jittered rotation point has passed, then plans the next', async () => {
    const rotatedIdentity = await new Promise<NodeIdentity>((resolve, reject) => {
      const schedule = scheduleRotation({
        serverUrl: cloud.url,
        dir,
        nodeName: 'edge-1',
        random: () => 0.5,
        clock: () => lifetimePoint(joined.certPem, 0.81),
        onRotated: (identity) => {
          schedule.stop();
          resolve(identity);
        },
        onError: (error) => {
          schedule.stop();
          reject(error);
        },
      });
    });
    expect(describeCertificate(rotatedIdentity.certPem).serialNumber).not.toBe(describeCertificate(joined.certPem).serialNumber);
    expect(await readFile(join(dir, 'node.crt'), 'utf8')).toBe(rotatedIdentity.certPem);
  });

  test('rotation schedule - a year-long certificate is not renewed early (timer overflow), and the plan is jittered', async () => {
    let fired = false;
    const schedule = scheduleRotation({
      serverUrl: await closedPortUrl(),
      dir,
      nodeName: 'edge-1',
      onRotated: () => (fired = true),
      onError: () => (fired = true),
    });
    try {
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(fired).toBe(false);
      const planned = schedule.nextAttemptAt;
      expect(planned).toBeInstanceOf(Date);
      expect(planned!.getTime()).toBeGreaterThanOrEqual(lifetimePoint(joined.certPem, 0.7).getTime());
      expect(planned!.getTime()).toBeLessThanOrEqual(lifetimePoint(joined.certPem, 0.9).getTime());
    } finally {
      schedule.stop();
    }
  });

  test('rotation schedule - a failed renewal is reported and retried, and the current files stay', async () => {
    const errors: Error[] = [];
    await new Promise<void>((resolve) => {
      void closedPortUrl().then((serverUrl) => {
        const schedule = scheduleRotation({
          serverUrl,
          dir,
          nodeName: 'edge-1',
          retryDelayMs: 20,
          clock: () => lifetimePoint(joined.certPem, 0.95),
          onError: (error) => {
            errors.push(error);
            if (errors.length === 2) {
              schedule.stop();
              resolve();
            }
          },
        });
      });
    });
    expect(errors.map((error) => (error as { code?: string }).code)).toEqual(['UNREACHABLE', 'UNREACHABLE']);
    expect(await readFile(join(dir, 'node.crt'), 'utf8')).toBe(joined.certPem);
  });
});
