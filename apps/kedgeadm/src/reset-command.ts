// `kedgeadm reset`: remove exactly what join or init recorded, nothing else.
import { resolve } from 'node:path';
import { KedgeadmUsageError } from './token-command';
import { WRITTEN_FILES_RECORD, readWrittenFiles, removeWrittenFiles, type ResetResult } from './written-files';

export function resetCommand(options: { prefix: string }): ResetResult & { command: string } {
  const prefix = resolve(options.prefix);
  const record = readWrittenFiles(prefix);
  if (!record) {
    throw new KedgeadmUsageError(
      `nothing to reset: ${prefix}/${WRITTEN_FILES_RECORD} does not exist (kedgeadm removes only what it recorded); ` +
        'pass the --prefix given to join or init',
    );
  }
  return { ...removeWrittenFiles(prefix, record), command: record.command };
}
