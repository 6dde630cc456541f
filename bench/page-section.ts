// A section of docs/benchmark.md that one benchmark writes between its own
// markers, so that the other runs leave it as it is.

/** A section's start and end markers. */
export interface SectionMarkers {
  start: string;
  end: string;
}

/** The page with the section replaced (or appended at the end). */
export function withSection(page: string, markers: SectionMarkers, section: string): string {
  const start = page.indexOf(markers.start);
  const end = page.indexOf(markers.end);
  if (start >= 0 && end > start) return page.slice(0, start) + section + page.slice(end + markers.end.length);
  return `${page.trimEnd()}\n\n${section}\n`;
}

/** The section of a page, markers included, or undefined. */
export function sectionOf(page: string, markers: SectionMarkers): string | undefined {
  const start = page.indexOf(markers.start);
  const end = page.indexOf(markers.end);
  return start >= 0 && end > start ? page.slice(start, end + markers.end.length) : undefined;
}
