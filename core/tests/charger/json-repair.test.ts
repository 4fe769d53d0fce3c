import { describe, expect, it } from 'vitest';
import { InvalidJsonError, type JsonRepair, repairJson } from '../../src/charger/json-repair.js';

describe('repairJson', () => {
  const repaired: Array<{ name: string; text: string; value: unknown; repairs: JsonRepair[] }> = [
    {
      name: 'valid JSON as is',
      text: '{"a":1.5,"b":[true,false,null]}',
      value: { a: 1.5, b: [true, false, null] },
      repairs: [],
    },
    {
      name: 'bare nan',
      text: '{"grid_v":nan,"grid_hz":60}',
      value: { grid_v: null, grid_hz: 60 },
      repairs: ['non_finite_number'],
    },
    { name: 'NaN', text: '{"a":NaN}', value: { a: null }, repairs: ['non_finite_number'] },
    { name: '-nan (glibc printf)', text: '{"a":-nan}', value: { a: null }, repairs: ['non_finite_number'] },
    { name: 'inf', text: '{"a":inf}', value: { a: null }, repairs: ['non_finite_number'] },
    { name: '-inf', text: '{"a": -inf }', value: { a: null }, repairs: ['non_finite_number'] },
    { name: '+inf', text: '{"a":+inf}', value: { a: null }, repairs: ['non_finite_number'] },
    { name: 'Infinity', text: '{"a":Infinity}', value: { a: null }, repairs: ['non_finite_number'] },
    { name: '-Infinity', text: '{"a":-Infinity}', value: { a: null }, repairs: ['non_finite_number'] },
    {
      name: 'several in an array',
      text: '[1,nan,-inf,2e3,-4E-1]',
      value: [1, null, null, 2000, -0.4],
      repairs: ['non_finite_number'],
    },
    { name: 'a bare nan document', text: ' nan ', value: null, repairs: ['non_finite_number'] },
    {
      name: 'the word nan inside strings is kept',
      text: '{"s":"nan","t":"-inf Infinity","v":nan}',
      value: { s: 'nan', t: '-inf Infinity', v: null },
      repairs: ['non_finite_number'],
    },
    {
      name: 'escaped quotes do not end a string',
      text: '{"s":"say \\"nan\\" {[","v":NaN}',
      value: { s: 'say "nan" {[', v: null },
      repairs: ['non_finite_number'],
    },
    {
      name: 'missing closing brace',
      text: '{"a":1,"b":"x"',
      value: { a: 1, b: 'x' },
      repairs: ['missing_closing_brace'],
    },
    {
      name: 'missing brace with trailing newline',
      text: '{"a":1\r\n',
      value: { a: 1 },
      repairs: ['missing_closing_brace'],
    },
    {
      name: 'missing bracket and brace',
      text: '{"current_alerts":["a","b"',
      value: { current_alerts: ['a', 'b'] },
      repairs: ['missing_closing_brace'],
    },
    {
      name: 'braces inside strings are not counted',
      text: '{"s":"}}]","t":{"u":1}',
      value: { s: '}}]', t: { u: 1 } },
      repairs: ['missing_closing_brace'],
    },
    {
      name: 'both repairs, each listed once',
      text: '{"a":nan,"b":inf,"c":[nan',
      value: { a: null, b: null, c: [null] },
      repairs: ['non_finite_number', 'missing_closing_brace'],
    },
  ];

  it.each(repaired)('$name', ({ text, value, repairs }) => {
    expect(repairJson(text)).toEqual({ value, repairs });
  });

  const refused: Array<{ name: string; text: string; message: RegExp }> = [
    { name: 'an empty body', text: '', message: /empty body/ },
    { name: 'only whitespace', text: ' \n', message: /empty body/ },
    { name: 'an HTML page', text: '<html><body>Login</body></html>', message: /not JSON.*<html>/ },
    { name: 'plain text', text: 'error', message: /not JSON/ },
    { name: 'an unknown bare word', text: '{"a":foo}', message: /not JSON/ },
    { name: 'truncated after a comma', text: '{"a":1,', message: /not JSON \(after repairing missing_closing_brace\)/ },
    { name: 'truncated inside a string', text: '{"a":"unterminated', message: /not JSON/ },
    { name: 'truncated after a key', text: '{"a":', message: /not JSON/ },
    { name: 'an extra closing brace', text: '{"a":1}}', message: /not JSON/ },
  ];

  it.each(refused)('refuses $name with a clear error', ({ text, message }) => {
    expect(() => repairJson(text)).toThrow(InvalidJsonError);
    expect(() => repairJson(text)).toThrow(message);
  });
});
