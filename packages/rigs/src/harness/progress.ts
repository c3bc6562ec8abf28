/** Where progress goes: a stream (stderr in the CLI) and whether it is a terminal. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export type ProgressMode = 'live' | 'plain';

/** A live `\r` line on a terminal; plain lines when not a terminal or under CI (CI=true / CI=1). */
export function progressMode(
  stream: ProgressStream,
  env: Record<string, string | undefined> = process.env,
): ProgressMode {
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== '0' && env.CI.toLowerCase() !== 'false';
  return stream.isTTY && !ci ? 'live' : 'plain';
}

export interface ProgressOptions {
  mode: ProgressMode;
  now?: () => number;
  /** Live mode: least time between redraws. */
  redrawMs?: number;
  /** Plain mode: least time between two lines of the same phase (phase starts and ends always print). */
  plainEveryMs?: number;
}

/**
 * Progress of one rig at a time: rig, phase, samples done of total, elapsed since the rig started.
 * Live mode redraws one line in place; plain mode prints a line when a phase starts, ends, and every few seconds.
 */
export class Progress {
  private readonly now: () => number;
  private rig = '';
  private startedAt = 0;
  private phase = '';
  private lastDraw = -Infinity;
  private lineShown = false;

  constructor(
    private readonly out: ProgressStream,
    private readonly options: ProgressOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
  }

  start(rig: string): void {
    this.rig = rig;
    this.startedAt = this.now();
    this.phase = '';
    this.lastDraw = -Infinity;
  }

  update(phase: string, done: number, total: number): void {
    const t = this.now();
    const newPhase = phase !== this.phase;
    this.phase = phase;
    const line = this.format(phase, done, total, t);
    if (this.options.mode === 'live') {
      if (!newPhase && done < total && t - this.lastDraw < (this.options.redrawMs ?? 100)) return;
      this.out.write(`\r${line}\x1b[K`);
      this.lineShown = true;
    } else {
      if (!newPhase && done < total && t - this.lastDraw < (this.options.plainEveryMs ?? 5000)) return;
      this.out.write(`${line}\n`);
    }
    this.lastDraw = t;
  }

  /** A message that must not be overwritten by the live line. */
  log(message: string): void {
    const prefix = this.rig ? `[${this.rig}] ` : '';
    if (this.lineShown) {
      this.out.write(`\r\x1b[K${prefix}${message}\n`);
      this.lineShown = false;
      this.lastDraw = -Infinity;
    } else {
      this.out.write(`${prefix}${message}\n`);
    }
  }

  /** Ends the rig's live line so that what follows starts on a fresh line. */
  end(): void {
    if (this.lineShown) this.out.write('\n');
    this.lineShown = false;
  }

  private format(phase: string, done: number, total: number, t: number): string {
    const elapsed = ((t - this.startedAt) / 1000).toFixed(1);
    return `[${this.rig}] ${phase} ${done}/${total} ${elapsed}s`;
  }
}
