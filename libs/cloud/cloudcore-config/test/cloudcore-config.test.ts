// cloudcore's config file: defaults, and bad values named by field.
import { ConfigError, parseConfigText } from '@kedge/config';
import { describe, expect, test } from 'vitest';
import { cloudCoreConfigSchema } from '../src/index';

const parse = (text: string) => parseConfigText(text, cloudCoreConfigSchema, 'cloudcore.yaml');

function problemsOf(text: string): string {
  try {
    parse(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`config was accepted:\n${text}`);
}

describe('cloudcore config pki', () => {
  test('config pki - defaults: store auto, Secret cloudcore-pki in kedge outside a pod', () => {
    // the test does not run in a pod, so there is no service-account namespace file
    expect(parse('{}').pki).toEqual({
      store: 'auto',
      secretNamespace: 'kedge',
      secretName: 'cloudcore-pki',
      revocationReloadSeconds: 2,
      revokeOnNodeDelete: true,
    });
    expect(parse('pki: {store: secret, secretNamespace: edge-system, secretName: kedge.ca}').pki).toEqual({
      store: 'secret',
      secretNamespace: 'edge-system',
      secretName: 'kedge.ca',
      revocationReloadSeconds: 2,
      revokeOnNodeDelete: true,
    });
  });

  test('config pki - an unknown store, a bad namespace or name, or a misspelt key is refused naming the field', () => {
    expect(problemsOf('pki: {store: configmap}')).toMatch(/field "pki\.store": .*"auto"\|"file"\|"secret"/);
    expect(problemsOf('pki: {secretNamespace: Kedge_System}')).toContain(
      'field "pki.secretNamespace": expected a Kubernetes namespace name',
    );
    expect(problemsOf('pki: {secretName: ""}')).toContain('field "pki.secretName": expected a Kubernetes object name');
    expect(problemsOf('pki: {secretname: x}')).toContain('field "pki": unknown field "secretname"');
  });
});

describe('cloudcore config controllers', () => {
  test('config controllers - enable defaults to auto and takes true or false', () => {
    expect(parse('{}').controllers).toEqual({ enable: 'auto' });
    expect(parse('controllers: {enable: false}').controllers).toEqual({ enable: false });
    expect(parse('controllers: {enable: true}').controllers).toEqual({ enable: true });
  });

  test('config controllers - anything else is refused naming the field', () => {
    expect(problemsOf('controllers: {enable: sometimes}')).toContain('field "controllers.enable": expected auto, true or false');
    expect(problemsOf('controllers: {enabled: true}')).toContain('field "controllers": unknown field "enabled"');
  });

  test('config hub - guards default to safe limits and can be tuned', () => {
    const hub = parse('{}').cloudHub;
    expect(hub.handshakeTimeoutSeconds).toBe(10);
    expect(hub.connectionLimits).toEqual({ maxConnectionsPerIp: 128, newConnectionsPerIpPerSecond: 20, newConnectionsBurstPerIp: 100 });
    expect(hub.inbound).toEqual({ messagesPerSecond: 200, messageBurst: 1000, maxInFlight: 256, maxBadFramesPerMinute: 20 });
    expect(parse('cloudHub: {inbound: {messagesPerSecond: 50}}').cloudHub.inbound.messagesPerSecond).toBe(50);
    expect(() => parse('cloudHub: {inbound: {maxInFlight: 0}}')).toThrow(/maxInFlight/);
    expect(() => parse('cloudHub: {connectionLimits: {perIp: 3}}')).toThrow();
  });
});
