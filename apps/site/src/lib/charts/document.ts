import { parseHTML } from 'linkedom';

/** A server-side DOM for Plot: charts are rendered at build time into the HTML, no client script. */
export const { document } = parseHTML('<!doctype html><html><head></head><body></body></html>');

/** Plot's output (an svg, or a figure when it adds a legend) as markup. */
export function markup(node: { outerHTML: string }): string {
  return node.outerHTML;
}
