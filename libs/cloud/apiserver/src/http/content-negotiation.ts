// The Accept header: plain JSON, a meta.k8s.io Table, or aggregated discovery. Clients list several
// (kubectl: "...;as=Table;v=v1;g=meta.k8s.io,application/json"); the first one we can serve wins.
import { notAcceptable } from '@kedge/kube-core';

export type ResponseForm =
  | { kind: 'json' }
  | { kind: 'table'; version: 'v1' | 'v1beta1' }
  | { kind: 'discovery'; version: 'v2' | 'v2beta1' };

interface MediaRange {
  type: string;
  params: Map<string, string>;
}

function parseAccept(header: string): MediaRange[] {
  return header
    .split(',')
    .map((part) => {
      const [type = '', ...params] = part.split(';').map((piece) => piece.trim());
      const map = new Map<string, string>();
      for (const param of params) {
        const [key, value = ''] = param.split('=', 2);
        if (key !== undefined && key !== '') map.set(key.trim().toLowerCase(), value.trim());
      }
      return { type: type.toLowerCase(), params: map };
    })
    .filter((range) => range.type !== '');
}

const JSON_TYPES = new Set(['application/json', '*/*', 'application/*']);

/**
 * What to answer with. `allowTable` is true for object reads; `allowDiscovery` for /api and /apis.
 * JSON is what a client gets when it asks for nothing in particular.
 */
export function negotiate(accept: string | undefined, options: { allowTable: boolean; allowDiscovery: boolean }): ResponseForm {
  // what most clients send, parsed once here rather than per request
  if (accept === undefined || accept === 'application/json' || accept.trim() === '') return { kind: 'json' };
  const ranges = parseAccept(accept);
  for (const range of ranges) {
    const as = range.params.get('as');
    const group = range.params.get('g');
    const version = range.params.get('v');
    if (as === undefined) {
      if (JSON_TYPES.has(range.type)) return { kind: 'json' };
      continue;
    }
    if (range.type !== 'application/json') continue;
    if (options.allowTable && as === 'Table' && group === 'meta.k8s.io' && (version === 'v1' || version === 'v1beta1')) {
      return { kind: 'table', version };
    }
    if (options.allowDiscovery && as === 'APIGroupDiscoveryList' && group === 'apidiscovery.k8s.io' && (version === 'v2' || version === 'v2beta1')) {
      return { kind: 'discovery', version };
    }
  }
  // protobuf-only and other clients we cannot serve; `application/json;as=Table` on a write is just JSON
  if (ranges.some((range) => range.type === 'application/json')) return { kind: 'json' };
  throw notAcceptable(['application/json', 'application/yaml']);
}
