import { describe, expect, it } from 'vitest';
import { wrapText } from './wrap-text.js';

describe('wrapText', () => {
  it.each([
    {
      name: 'short text stays on one line',
      text: 'no route to host',
      width: 20,
      lines: ['no route to host'],
    },
    {
      name: 'breaks at the last space that fits',
      text: 'aaa bbb ccc ddd',
      width: 7,
      lines: ['aaa bbb', 'ccc ddd'],
    },
    { name: 'a word exactly the width fits', text: 'abcdefg hi', width: 7, lines: ['abcdefg', 'hi'] },
    {
      name: 'an overlong word stays whole',
      text: 'x -A KUBE-SVC-ABCDEFGHIJKLMNOP y',
      width: 10,
      lines: ['x -A', 'KUBE-SVC-ABCDEFGHIJKLMNOP', 'y'],
    },
    { name: 'newlines are kept', text: 'one\ntwo three', width: 40, lines: ['one', 'two three'] },
    { name: 'repeated spaces collapse', text: 'a   b', width: 40, lines: ['a b'] },
    { name: 'empty text is one empty line', text: '', width: 10, lines: [''] },
  ])('$name', ({ text, width, lines }) => {
    expect(wrapText(text, width)).toEqual(lines);
  });

  it.each([
    {
      name: 'a narrower first line',
      text: 'aaa bbb ccc ddd',
      width: 7,
      first: 3,
      lines: ['aaa', 'bbb ccc', 'ddd'],
    },
    {
      name: 'a wider first line',
      text: 'aaa bbb ccc ddd',
      width: 3,
      first: 11,
      lines: ['aaa bbb ccc', 'ddd'],
    },
  ])('$name', ({ text, width, first, lines }) => {
    expect(wrapText(text, width, first)).toEqual(lines);
  });
});
