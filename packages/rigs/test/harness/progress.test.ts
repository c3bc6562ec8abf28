import { describe, expect, it } from 'vitest';
import { Progress, progressMode } from '../../src/harness/progress.ts';
import { captureStream } from './helpers.ts';

describe('progressMode', () => {
  it('is live on a terminal, plain when not a terminal or under CI', () => {
    expect(progressMode({ isTTY: true, write: () => true }, {})).toBe('live');
    expect(progressMode({ isTTY: false, write: () => true }, {})).toBe('plain');
    expect(progressMode({ write: () => true }, {})).toBe('plain');
    expect(progressMode({ isTTY: true, write: () => true }, { CI: 'true' })).toBe('plain');
    expect(progressMode({ isTTY: true, write: () => true }, { CI: '1' })).toBe('plain');
    expect(progressMode({ isTTY: true, write: () => true }, { CI: 'false' })).toBe('live');
  });
});

describe('Progress', () => {
  it('live: redraws one line in place with rig, phase, done/total and elapsed, throttled', () => {
    let now = 0;
    const out = captureStream(true);
    const p = new Progress(out, { mode: 'live', now: () => now, redrawMs: 100 });
    p.start('host-limits');
    p.update('rtt', 0, 200);
    now = 50;
    p.update('rtt', 10, 200); // within 100 ms of the last draw: skipped
    now = 1500;
    p.update('rtt', 100, 200);
    now = 1510;
    p.update('rtt', 200, 200); // the end of a phase always draws
    p.end();
    expect(out.text()).toBe(
      '\r[host-limits] rtt 0/200 0.0s\x1b[K' +
        '\r[host-limits] rtt 100/200 1.5s\x1b[K' +
        '\r[host-limits] rtt 200/200 1.5s\x1b[K' +
        '\n',
    );
  });

  it('live: a log message clears the line first so it is not overwritten', () => {
    const out = captureStream(true);
    const p = new Progress(out, { mode: 'live', now: () => 0 });
    p.start('r');
    p.update('a', 1, 2);
    p.log('hello');
    expect(out.text()).toBe('\r[r] a 1/2 0.0s\x1b[K\r\x1b[K[r] hello\n');
  });

  it('plain: whole lines, no carriage returns or escapes; phase starts and ends always, else every few seconds', () => {
    let now = 0;
    const out = captureStream(false);
    const p = new Progress(out, { mode: 'plain', now: () => now, plainEveryMs: 5000 });
    p.start('r');
    p.update('a', 0, 10);
    now = 1000;
    p.update('a', 5, 10); // too soon: skipped
    now = 6000;
    p.update('a', 6, 10);
    p.update('a', 10, 10);
    p.update('b', 0, 3);
    p.end();
    expect(out.text()).toBe('[r] a 0/10 0.0s\n[r] a 6/10 6.0s\n[r] a 10/10 6.0s\n[r] b 0/3 6.0s\n');
    expect(out.text()).not.toMatch(/[\r\x1b]/);
  });
});
