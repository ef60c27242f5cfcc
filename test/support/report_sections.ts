/**
 * docs/reliability.md is written by two suites: the fault suite writes the
 * page, the abuse suite one section of it between two HTML comments. Each
 * writer keeps what the other wrote.
 */

/** The comments around the abuse suite's section. */
export const abuseSection = Object.freeze({
  start: "<!-- abuse-suite:start (written by npm run test:abuse; do not edit by hand) -->",
  end: "<!-- abuse-suite:end -->",
});

/** The section between the markers in `page`, markers included, or null when it has none. */
export function findSection(page: string, markers: { start: string; end: string } = abuseSection): string | null {
  const from = page.indexOf(markers.start);
  const to = page.indexOf(markers.end, from);
  if (from < 0 || to < 0) return null;
  return page.slice(from, to + markers.end.length);
}

/**
 * `page` with its section replaced by `section` (which holds the markers),
 * or with `section` appended when it had none.
 */
export function replaceSection(page: string, section: string, markers: { start: string; end: string } = abuseSection): string {
  const old = findSection(page, markers);
  if (old !== null) return page.replace(old, () => section);
  return `${page.trimEnd()}\n\n${section}\n`;
}
