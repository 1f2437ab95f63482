// The pods/eviction subresource: Eviction bodies and the eviction itself, PodDisruptionBudgets honoured.
export { EVICTION_API_VERSIONS, readEvictionRequest, type EvictionRequest } from './eviction-request';
export {
  DISRUPTION_BUDGET_CAUSE,
  EVICTION_REFUSED_MESSAGE,
  MAX_DISRUPTED_PODS,
  budgetsSelecting,
  evictPod,
  isPodReady,
  takeDisruption,
  withDisruptionAllowed,
  type EvictionOutcome,
  type EvictionTypes,
} from './pod-eviction';
