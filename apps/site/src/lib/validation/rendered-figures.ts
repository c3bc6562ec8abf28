import { parseHTML } from 'linkedom';
import { findTypedFigures } from './prose-figures.ts';

/**
 * Elements whose text may hold figures: a figure rendered from a result file or a published reference, a stated
 * given or target bound (from the registry, judged against a result), a chart, code, or a field copied from a result
 * file.
 */
const SOURCED =
  '[data-value], [data-result], [data-reference], [data-ratio], [data-given], [data-verdict], [data-host-field], svg, pre, code, script, style';

/** Figures in a rendered page's visible text that no result, reference or given accounts for. */
export function unsourcedFigures(html: string): string[] {
  const { document } = parseHTML(html);
  const found: string[] = [];
  const walk = (node: Node) => {
    for (const child of Array.from(node.childNodes)) {
      if (child.nodeType === 1) {
        if ((child as Element).matches(SOURCED)) continue;
        walk(child);
      } else if (child.nodeType === 3) {
        found.push(...findTypedFigures(child.textContent ?? ''));
      }
    }
  };
  walk(document.body ?? document.documentElement);
  return found;
}
