import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './children';

const SECTION = '## Scale-out measurements';
const PLACEHOLDER = '(filled in by its issue)';

/**
 * Replaces the `<!-- bench:<name> -->` … `<!-- /bench:<name> -->` block of the README's
 * "Scale-out measurements" section with `markdown` (the block is added at the end of the section
 * the first time, in place of the placeholder line if it is still there).
 */
export function writeReadmeBlock(name: string, markdown: string, file = path.join(ROOT, 'README.md')): void {
  const text = fs.readFileSync(file, 'utf8');
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const block = `${start}\n${markdown.trim()}\n${end}`;
  let next: string;
  if (text.includes(start) && text.includes(end)) {
    next = text.slice(0, text.indexOf(start)) + block + text.slice(text.indexOf(end) + end.length);
  } else {
    const at = text.indexOf(SECTION);
    if (at < 0) throw new Error(`README.md has no "${SECTION}" section`);
    const bodyStart = at + SECTION.length;
    const following = text.indexOf('\n## ', bodyStart);
    const bodyEnd = following < 0 ? text.length : following + 1;
    let body = text.slice(bodyStart, bodyEnd);
    body = body.includes(PLACEHOLDER) ? body.replace(PLACEHOLDER, block) : `${body.trimEnd()}\n\n${block}\n${following < 0 ? '' : '\n'}`;
    next = text.slice(0, bodyStart) + body + text.slice(bodyEnd);
  }
  fs.writeFileSync(file, next);
}
