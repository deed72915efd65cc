/**
 * Markdown as the docs' readers (GitHub, editors) see it: heading anchors and relative links.
 */

/** GitHub's anchor for a heading: lower case, punctuation but `-` and `_` removed, spaces to `-`. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\w\- ]/g, '')
    .replace(/ /g, '-');
}

/** Every heading's anchor (fenced code blocks are not headings). */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const match of withoutFences(markdown).matchAll(/^#{1,6}\s+(.+)$/gm)) {
    anchors.add(anchorOf(match[1] as string));
  }
  return anchors;
}

function withoutFences(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```$/gm, '');
}

export interface MarkdownLink {
  /** The target as written: `path`, `path#anchor` or `#anchor`. */
  target: string;
  line: number;
}

/** Links to this repository's files and headings (not URLs, not mail), outside code blocks. */
export function relativeLinks(markdown: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  const text = withoutFences(markdown);
  const lines = markdown.split('\n');
  for (const match of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = match[1] as string;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
    const line = lines.findIndex((candidate) => candidate.includes(`](${target})`)) + 1;
    links.push({ target, line });
  }
  return links;
}
