// Where a process's resident memory is: the kernel's view (VmRSS split into anonymous, file-backed and
// shared pages, from /proc/self/status) next to V8's (each heap space's committed and used bytes, code,
// external and ArrayBuffer memory). Served by the daemons at /debug/memory (loopback only by default) so
// an operator or a benchmark can see what a gateway's edgecore spends its megabytes on.
import { readFileSync } from 'node:fs';
import { getHeapCodeStatistics, getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';

export interface HeapSpaceMemory {
  /** bytes the space holds from the OS (counts towards RSS once touched) */
  committed: number;
  /** bytes of live and not yet collected objects in it */
  used: number;
}

export interface ProcessMemory {
  /** VmRSS and its parts (RssAnon: heap, stacks, malloc; RssFile: mapped files such as the node binary) */
  kernel: { rss: number; rssAnon: number; rssFile: number; rssShmem: number; threads: number } | undefined;
  v8: {
    /** all heap spaces: committed (what the heap costs in RSS at most) and used */
    heapCommitted: number;
    heapUsed: number;
    /** per V8 heap space (new_space, old_space, code_space, large_object_space, ...) */
    spaces: Record<string, HeapSpaceMemory>;
    /** bytecode and compiled code, and the script sources V8 holds */
    bytecodeAndMetadata: number;
    externalScriptSource: number;
    /** memory outside the heap that V8 knows of: Buffers, ArrayBuffers, native addon allocations reported to V8 */
    external: number;
    arrayBuffers: number;
    /** malloc'ed by V8 itself outside the heap (zones, compiler) */
    mallocedMemory: number;
  };
}

/** Reads the named kB fields of /proc/self/status as bytes; undefined where /proc is not there. */
function kernelMemory(): ProcessMemory['kernel'] {
  let text: string;
  try {
    text = readFileSync('/proc/self/status', 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text);
    return match ? Number(match[1]) * (name === 'Threads' ? 1 : 1024) : 0;
  };
  return { rss: field('VmRSS'), rssAnon: field('RssAnon'), rssFile: field('RssFile'), rssShmem: field('RssShmem'), threads: field('Threads') };
}

export function processMemory(): ProcessMemory {
  const heap = getHeapStatistics();
  const code = getHeapCodeStatistics();
  const usage = process.memoryUsage();
  const spaces: Record<string, HeapSpaceMemory> = {};
  for (const space of getHeapSpaceStatistics()) spaces[space.space_name] = { committed: space.space_size, used: space.space_used_size };
  return {
    kernel: kernelMemory(),
    v8: {
      heapCommitted: heap.total_heap_size,
      heapUsed: heap.used_heap_size,
      spaces,
      bytecodeAndMetadata: code.bytecode_and_metadata_size,
      externalScriptSource: code.external_script_source_size,
      external: usage.external,
      arrayBuffers: usage.arrayBuffers,
      mallocedMemory: heap.malloced_memory,
    },
  };
}
