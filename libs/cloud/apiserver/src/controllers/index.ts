// Background controllers of the embedded control plane: namespaces, garbage collection, CRDs.
export { CrdController } from './crd-controller';
export { GarbageCollector } from './garbage-collector';
export { INITIAL_NAMESPACES, NamespaceController } from './namespace-controller';
export { type Controller, type ControllerContext } from './controller-context';
