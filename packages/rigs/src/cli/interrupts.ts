/**
 * Ctrl-C / SIGTERM during a run: the first signal aborts the run (the harness then runs the rig's cleanups and ends
 * its processes); later ones only say that cleanup is under way, so a second Ctrl-C cannot leave things behind.
 */
export function installInterrupts(log: (message: string) => void = (m) => process.stderr.write(`${m}\n`)) {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const handler = (sig: NodeJS.Signals) => {
    if (received) {
      log(`${sig}: still cleaning up after ${received}, please wait`);
      return;
    }
    received = sig;
    log(`${sig}: stopping; running the rig's cleanups`);
    controller.abort(new Error(`received ${sig}`));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    /** 130 after SIGINT, 143 after SIGTERM (the shell convention 128 + signal number). */
    exitCode: () => (received === 'SIGINT' ? 130 : received === 'SIGTERM' ? 143 : undefined),
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
