import { describe, expect, it } from 'vitest';
import { unsourcedFigures as audit } from '../src/lib/validation/rendered-figures.ts';

const page = (body: string) => `<!doctype html><html><head><title>t</title></head><body>${body}</body></html>`;
const unsourcedFigures = (body: string) => audit(page(body));

describe('rendered page audit', () => {
  it('accepts figures that carry their source', () => {
    const html = `<p>Checkout <a data-value="21.49" data-result="benchmarks/results/x.json">21.5 ms</a>,
      published <cite data-reference="honor"><q>21.5 ms</q></cite>, guests of <span data-given>256 MiB</span>,
      memory <span data-host-field="memory">8 GiB</span>, ratio <span data-ratio="1.2">1.2×</span>,
      target <span class="target" data-verdict="met">≤ 25 ms: met</span></p>
      <svg><text>10 ms</text></svg><pre>dd bs=8 MiB</pre>`;
    expect(unsourcedFigures(html)).toEqual([]);
  });

  it('finds a figure rendered without a source, even one built by code', () => {
    expect(
      unsourcedFigures(
        '<p>Release takes <b>308 ms</b> on honor.</p><table><tr><td class="num">4.2 ms</td></tr></table>',
      ),
    ).toEqual(['308 ms', '4.2 ms']);
  });
});
