// The only door to @peculiar/x509: it resolves its services through tsyringe, which throws at load
// time unless the Reflect metadata polyfill is evaluated first. Importing it here, before the
// library, guarantees that order for every file of this module.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export { x509 };
