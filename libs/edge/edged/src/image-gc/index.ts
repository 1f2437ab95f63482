// Image garbage collection: keeps the runtime's image filesystem below a threshold by removing unused
// images, least recently used first, with the kubelet's policy and defaults.
export {
  DEFAULT_IMAGE_GC_POLICY,
  IMAGE_GC_SOURCE,
  ImageFilesystemUnknownError,
  ImageGarbageCollector,
  imagesInUse,
  type ImageGarbageCollectorOptions,
  type ImageGcPolicy,
  type ImageGcRun,
  type RemovedImage,
} from './image-gc';
export { ImageGcMetrics, type ImageGcRunResult } from './image-gc-metrics';
export { bytesToFree, planImageRemoval, usageRatio, type FilesystemCapacity, type ImageGcThresholds, type RemovalCandidate, type RemovalPlan } from './image-selection';
