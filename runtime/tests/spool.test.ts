import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/logger.js';
import { createSpool } from '../src/spool.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'twc-spool-test-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const lines = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `m,t=${prefix} v=${i} ${i}`);

describe('spool', () => {
  it('returns batches oldest first and forgets removed ones', () => {
    const spool = createSpool({ dir: tempDir(), maxBytes: 1_000_000, logger: silentLogger() });
    spool.append('raw', 'vitals', lines('a', 2));
    spool.append('sessions', 'durable', lines('b', 1));
    const first = spool.oldest();
    expect(first).toMatchObject({ bucket: 'raw', kind: 'vitals', lines: lines('a', 2) });
    spool.remove(first?.seq ?? -1);
    expect(spool.oldest()).toMatchObject({ bucket: 'sessions', kind: 'durable', lines: lines('b', 1) });
    expect(spool.stats().files).toBe(1);
  });

  it('keeps its batches and their order across a restart', () => {
    const dir = tempDir();
    const before = createSpool({ dir, maxBytes: 1_000_000, logger: silentLogger() });
    before.append('raw', 'vitals', lines('a', 1));
    before.append('raw', 'vitals', lines('b', 1));
    // A batch whose write was interrupted by a crash is a temporary file and does not count.
    writeFileSync(join(dir, '000000000099-vitals.json.tmp'), '{"bucket":"raw","lin');

    const after = createSpool({ dir, maxBytes: 1_000_000, logger: silentLogger() });
    expect(after.stats().files).toBe(2);
    expect(existsSync(join(dir, '000000000099-vitals.json.tmp'))).toBe(false);
    after.append('raw', 'vitals', lines('c', 1));
    const order: string[] = [];
    for (let entry = after.oldest(); entry; entry = after.oldest()) {
      order.push(entry.lines[0] as string);
      after.remove(entry.seq);
    }
    expect(order).toEqual([lines('a', 1)[0], lines('b', 1)[0], lines('c', 1)[0]]);
  });

  it('at its bound drops the oldest raw vitals first and never sessions or prices', () => {
    const size = (bucket: string, batch: string[]) => Buffer.byteLength(JSON.stringify({ bucket, lines: batch }));
    // Room for the session batch and two vitals batches, not three.
    const maxBytes = size('sessions', lines('session', 20)) + 2 * size('raw', lines('v1', 20)) + 10;
    const spool = createSpool({ dir: tempDir(), maxBytes, logger: silentLogger() });
    spool.append('sessions', 'durable', lines('session', 20));
    spool.append('raw', 'vitals', lines('v1', 20));
    spool.append('raw', 'vitals', lines('v2', 20));
    spool.append('raw', 'vitals', lines('v3', 20));
    expect(spool.stats().droppedLines).toBe(20);
    const kept: string[] = [];
    for (let entry = spool.oldest(); entry; entry = spool.oldest()) {
      kept.push((entry.lines[0] as string).split(' ')[0] as string);
      spool.remove(entry.seq);
    }
    expect(kept).toEqual(['m,t=session', 'm,t=v2', 'm,t=v3']);
  });

  it('keeps durable batches even beyond the bound', () => {
    const spool = createSpool({ dir: tempDir(), maxBytes: 10, logger: silentLogger() });
    spool.append('sessions', 'durable', lines('s1', 5));
    spool.append('prices', 'durable', lines('p1', 5));
    expect(spool.stats().files).toBe(2);
    expect(spool.stats().droppedLines).toBe(0);
  });

  it('sets an unreadable file aside instead of blocking later batches', () => {
    const dir = tempDir();
    writeFileSync(join(dir, '000000000001-vitals.json'), 'not json');
    const spool = createSpool({ dir, maxBytes: 1_000_000, logger: silentLogger() });
    spool.append('raw', 'vitals', lines('ok', 1));
    expect(spool.oldest()).toMatchObject({ lines: lines('ok', 1) });
    expect(readdirSync(dir)).toContain('000000000001-vitals.json.bad');
  });
});
