// client-node's typed patch calls send application/json-patch+json unless told otherwise; kedge's
// controllers write JSON merge patches (application/merge-patch+json), which every API server takes.
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

/** The request option that makes a client-node patch call a JSON merge patch. */
export const mergePatch = () => setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
