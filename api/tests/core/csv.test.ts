import { describe, expect, it } from 'vitest';
import { csvLine } from '../../src/core/csv.js';

describe('csv lines', () => {
  it('quotes what needs quoting and defuses formulas in text', () => {
    expect(csvLine(['a', 1.5, true, null, undefined, 'x,y', 'say "hi"', '=cmd()', -3])).toBe(
      'a,1.5,true,,,"x,y","say ""hi""",\'=cmd(),-3\r\n',
    );
  });
});
