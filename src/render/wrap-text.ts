/**
 * Splits `text` into lines of at most `width` characters (`firstWidth` for the first line, which
 * often follows a label), breaking at spaces; a word too long for its line stays whole on its own
 * line. Existing newlines are kept as line breaks.
 */
export function wrapText(text: string, width: number, firstWidth = width): string[] {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(' ').filter((w) => w !== '')) {
      const room = lines.length === 0 ? firstWidth : width;
      if (line === '') line = word;
      else if (line.length + 1 + word.length <= room) line += ` ${word}`;
      else {
        lines.push(line);
        line = word;
      }
    }
    lines.push(line);
  }
  return lines;
}
