// Feature code that edgecore loads only when its config turns the feature on: each is a dynamic import(),
// which the gateway bundle keeps in its own chunk file (tools/package/bundle.ts splits them), so a gateway
// without pods or devices never reads, parses or holds that code. The registry says what was loaded, for
// /debug/memory and the tests.
const loaded = new Set<FeatureName>();

/** The lazily loaded parts of edgecore, by the config switch that turns each on. */
export type FeatureName = 'pods' | 'streams' | 'metaserver' | 'devices';

/** Loads a feature's code once (the module system caches it) and records that it is loaded. */
export async function loadFeature<T>(name: FeatureName, load: () => Promise<T>): Promise<T> {
  const module = await load();
  loaded.add(name);
  return module;
}

/** The features whose code this process has loaded, sorted. */
export const loadedFeatures = (): FeatureName[] => [...loaded].sort();
