import { describe, expect, it } from 'vitest';
import { cellSchema, formatFieldPath } from '../src/index.ts';

const operand = (rig: string, metric: string, stat = 'p50') => ({
  kind: 'measured',
  rig,
  metric,
  labels: { family: 'ipv4' },
  stat,
});
const ratio = (over: Record<string, unknown> = {}) => ({
  kind: 'ratio',
  numerator: operand('net-rr', 'rtt'),
  denominator: operand('net-rr', 'bare-rtt'),
  ...over,
});
function issues(value: unknown): string[] {
  const r = cellSchema.safeParse(value);
  return r.success ? [] : r.error.issues.map((i) => `${formatFieldPath(i.path)}: ${i.message}`);
}

describe('ratio cell schema', () => {
  it('accepts two measured operands, with or without a target, and defaults sameRun to false', () => {
    const parsed = cellSchema.parse(ratio({ target: { max: 1.2 } }));
    expect(parsed).toMatchObject({ kind: 'ratio', target: { max: 1.2 }, sameRun: false });
    expect(issues(ratio())).toEqual([]);
    expect(issues(ratio({ target: { min: 0.5, max: 2 }, sameRun: true }))).toEqual([]);
  });

  it('rejects an operand that is not a measured cell, or has a bad statistic', () => {
    expect(issues(ratio({ denominator: { kind: 'check', rig: 'net-rr', check: 'x' } })).length).toBeGreaterThan(0);
    expect(issues(ratio({ numerator: operand('net-rr', 'rtt', 'p999') })).map((i) => i.split(':')[0])).toEqual([
      'numerator.stat',
    ]);
  });

  it('rejects an empty, negative or inverted target and unknown keys', () => {
    expect(issues(ratio({ target: {} }))).toEqual(['target: a target needs max, min or both']);
    expect(issues(ratio({ target: { max: -1 } })).map((i) => i.split(':')[0])).toEqual(['target.max']);
    expect(issues(ratio({ target: { min: 2, max: 1 } }))).toEqual(['target: target min is above max']);
    expect(issues(ratio({ target: { below: 1.2 } })).length).toBeGreaterThan(0);
    expect(issues(ratio({ note: 'x' })).length).toBeGreaterThan(0);
  });

  it('rejects sameRun across two rigs, which never share a result file', () => {
    expect(issues(ratio({ denominator: operand('host-limits', 'namespace-rr'), sameRun: true }))).toEqual([
      'sameRun: sameRun needs both operands from one rig: two rigs never write one result file',
    ]);
    expect(issues(ratio({ denominator: operand('host-limits', 'namespace-rr') }))).toEqual([]);
  });
});

describe('targets on measured cells', () => {
  const checkout = (target?: unknown) => ({
    kind: 'measured',
    rig: 'lifecycle',
    metric: 'checkout',
    labels: {},
    stat: 'p95',
    ...(target ? { target } : {}),
  });

  it("accepts a bound in the series' unit on a measured cell", () => {
    expect(cellSchema.parse(checkout({ max: 25 }))).toMatchObject({ target: { max: 25 } });
    expect(issues(checkout({}))).toEqual(['target: a target needs max, min or both']);
  });

  it("rejects a target on a ratio's operand, which would be judged in the wrong unit", () => {
    expect(issues(ratio({ numerator: { ...operand('net-rr', 'rtt'), target: { max: 40 } } }))).toEqual([
      ': an operand takes no target: put the target on the ratio',
    ]);
  });
});
