// @kedge/testkit: what tests across the workspace share: a real in-memory PKI, polling, cleanup, metrics.
export { Cleanup } from './cleanup';
export { metricValue } from './registry-metrics';
export { createTestPki, type TestPki, type TlsMaterial } from './test-pki';
export { waitFor, type WaitOptions } from './wait-for';
