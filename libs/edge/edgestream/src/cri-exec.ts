// exec and attach in a container over the runtime's streaming server (runtime-stream.ts). CRI Exec runs a
// new command; CRI Attach joins the container's main process. When the streaming server cannot be
// dialled, an exec without stdin and tty falls back to ExecSync; attach has no such fallback.
import type { CriClient } from '@kedge/cri';
import type { AttachOptions, ExecOptions } from '@kedge/protocol';
import { startRuntimeStream, type RunningRuntimeStream, type RuntimeStreamHooks } from './runtime-stream';

export type ExecHooks = RuntimeStreamHooks;
export type RunningExec = RunningRuntimeStream;

export function startCriExec(cri: Pick<CriClient, 'exec' | 'execSync'>, containerId: string, options: ExecOptions, hooks: ExecHooks): RunningExec {
  return startRuntimeStream(
    {
      action: 'exec',
      streams: options,
      streamUrl: () => cri.exec(containerId, options.command, options),
      fallback(why) {
        if (options.stdin || options.tty) {
          return Promise.resolve({
            exitCode: undefined,
            reason: `cannot reach the container runtime's streaming server (${why}); only commands without -i/-t can run without it`,
          });
        }
        return (async () => {
          hooks.ready();
          const result = await cri.execSync(containerId, options.command);
          if (options.stdout && result.stdout.length > 0) await hooks.output(1, result.stdout);
          if (options.stderr && result.stderr.length > 0) await hooks.output(2, result.stderr);
          return { exitCode: result.exitCode };
        })();
      },
    },
    hooks,
  );
}

export function startCriAttach(cri: Pick<CriClient, 'attach'>, containerId: string, options: AttachOptions, hooks: ExecHooks): RunningExec {
  return startRuntimeStream({ action: 'attach', streams: options, streamUrl: () => cri.attach(containerId, options) }, hooks);
}
