import { element } from '../dom.ts';

/**
 * The program agreement's text as the page shows it (server/enrolment/agreements.ts writes it in a
 * small part of Markdown): paragraphs apart by blank lines, numbered items ("1. ...") as an ordered
 * list, **bold** and *italic*. Built as DOM nodes, never as HTML, so the text cannot inject markup.
 */
export function agreementNodes(text: string): HTMLElement[] {
  const blocks: HTMLElement[] = [];
  let list: HTMLOListElement | undefined;
  let paragraph: string[] = [];
  const flush = (): void => {
    if (paragraph.length > 0) blocks.push(element('p', {}, inline(paragraph.join(' '))));
    paragraph = [];
  };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const item = /^\d+\.\s+(.*)$/.exec(line);
    if (item) {
      flush();
      if (!list) blocks.push((list = element('ol')));
      list.append(element('li', {}, inline(item[1]!)));
    } else if (line === '') {
      flush();
      list = undefined;
    } else {
      list = undefined;
      paragraph.push(line);
    }
  }
  flush();
  return blocks;
}

/** **bold** and *italic* spans of one line, as nodes. */
function inline(line: string): Array<Node | string> {
  const nodes: Array<Node | string> = [];
  const pattern = /\*\*([^*]+)\*\*|\*([^*]+)\*/g;
  let at = 0;
  for (let match = pattern.exec(line); match; match = pattern.exec(line)) {
    if (match.index > at) nodes.push(line.slice(at, match.index));
    nodes.push(match[1] !== undefined ? element('strong', { text: match[1] }) : element('em', { text: match[2]! }));
    at = match.index + match[0].length;
  }
  if (at < line.length) nodes.push(line.slice(at));
  return nodes;
}
