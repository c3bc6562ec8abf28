import { parseHTML } from 'linkedom';

/** A server-side DOM for Plot: charts are rendered at build time into the HTML, no client script. */
export const { document } = parseHTML('<!doctype html><html><head></head><body></body></html>');

/**
 * Plot's output (an svg, or a figure when it adds a legend) as markup. Plot names each mark's and axis's `<g>`
 * with aria-label but gives it no role, and a name is not allowed on an element without one (WCAG 4.1.2; axe
 * fails it): each such group becomes role="group", so a screen reader announces it by that name.
 */
export function markup(node: Element): string {
  node.querySelectorAll('g[aria-label]:not([role])').forEach((g) => g.setAttribute('role', 'group'));
  return node.outerHTML;
}
