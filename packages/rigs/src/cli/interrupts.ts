/**
 * Ctrl-C / SIGTERM during a run: the first signal aborts the run (the harness then runs the rig's cleanups and ends
 * its processes); later ones only say that cleanup is under way, so a second Ctrl-C cannot leave things behind.
 * An exception nothing caught (say, an error event a rig left unhandled) aborts the run the same way instead of
 * killing the process before its cleanups.
 */
export function installInterrupts(log: (message: string) => void = (m) => process.stderr.write(`${m}\n`)) {
  const controller = new AbortController();
  let received: NodeJS.Signals | 'crash' | undefined;
  const handler = (sig: NodeJS.Signals) => {
    if (received) {
      log(`${sig}: still cleaning up after ${received}, please wait`);
      return;
    }
    received = sig;
    log(`${sig}: stopping; running the rig's cleanups`);
    controller.abort(new Error(`received ${sig}`));
  };
  const crash = (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    log(`uncaught exception: ${message}`);
    if (received) return;
    received = 'crash';
    controller.abort(new Error(`uncaught exception: ${message}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  return {
    signal: controller.signal,
    /** 130 after SIGINT, 143 after SIGTERM (the shell convention 128 + signal number), 1 after a crash. */
    exitCode: () => (received === 'SIGINT' ? 130 : received === 'SIGTERM' ? 143 : received === 'crash' ? 1 : undefined),
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      process.off('uncaughtException', crash);
      process.off('unhandledRejection', crash);
    },
  };
}
