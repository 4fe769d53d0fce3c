import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from './logger.js';

/**
 * `vitals` entries are raw 5-second samples: when the spool is full, the
 * oldest of them are dropped first. `durable` entries (sessions, prices,
 * lifetime counters, health) are never dropped: they are small, and losing a
 * session would lose its cost.
 */
export type SpoolKind = 'vitals' | 'durable';

export interface SpoolEntry {
  seq: number;
  kind: SpoolKind;
  bucket: string;
  lines: string[];
}

export interface SpoolStats {
  files: number;
  bytes: number;
  /** Lines of raw vitals dropped at the bound since start-up. */
  droppedLines: number;
}

export interface Spool {
  append(bucket: string, kind: SpoolKind, lines: string[]): void;
  /** The oldest entry, read from disk; undefined when the spool is empty. */
  oldest(): SpoolEntry | undefined;
  remove(seq: number): void;
  stats(): SpoolStats;
}

interface IndexEntry {
  seq: number;
  kind: SpoolKind;
  file: string;
  bytes: number;
  lines: number;
}

const FILE_PATTERN = /^(\d{12})-(vitals|durable)\.json$/;

/**
 * A bounded, ordered on-disk queue of line-protocol batches that could not
 * be written to InfluxDB. Each batch is one file, written to a temporary name
 * and renamed, so a kill -9 leaves either the whole batch or none of it.
 */
export function createSpool(options: { dir: string; maxBytes: number; logger: Logger }): Spool {
  const { dir, maxBytes, logger } = options;
  const index: IndexEntry[] = [];
  let totalBytes = 0;
  let droppedLines = 0;
  let overflowing = false;
  let nextSeq = 1;
  let opened = false;

  /** Creates the folder and reads what a previous run left, on first use: constructing touches no disk. */
  function open(): void {
    if (opened) return;
    opened = true;
    mkdirSync(dir, { recursive: true });
    indexExisting();
  }

  function indexExisting(): void {
    for (const name of readdirSync(dir)) {
      const match = FILE_PATTERN.exec(name);
      if (!match) {
        // A temporary file is a batch whose write a crash interrupted; its data never counted as spooled.
        if (name.endsWith('.tmp')) rmSync(join(dir, name), { force: true });
        continue;
      }
      const file = join(dir, name);
      const bytes = statSync(file).size;
      index.push({ seq: Number(match[1]), kind: match[2] as SpoolKind, file, bytes, lines: -1 });
      totalBytes += bytes;
    }
    index.sort((a, b) => a.seq - b.seq);
    nextSeq = (index.at(-1)?.seq ?? 0) + 1;
    if (index.length > 0) {
      logger.info({ files: index.length, bytes: totalBytes }, 'spool holds unwritten points from a previous run');
    }
  }

  function enforceBound(): void {
    while (totalBytes > maxBytes) {
      const victim = index.findIndex((entry) => entry.kind === 'vitals');
      if (victim === -1) {
        if (!overflowing) {
          logger.warn(
            { bytes: totalBytes, maxBytes },
            'spool over its bound with sessions and prices only; keeping them',
          );
          overflowing = true;
        }
        return;
      }
      const [entry] = index.splice(victim, 1) as [IndexEntry];
      const lines = entry.lines >= 0 ? entry.lines : countLines(entry.file);
      rmSync(entry.file, { force: true });
      totalBytes -= entry.bytes;
      droppedLines += lines;
      if (!overflowing) {
        logger.warn(
          { maxBytes },
          'spool full: dropping the oldest raw vitals to make room (sessions and prices are kept)',
        );
        overflowing = true;
      }
    }
  }

  return {
    append(bucket, kind, lines) {
      if (lines.length === 0) return;
      open();
      const seq = nextSeq++;
      const file = join(dir, `${String(seq).padStart(12, '0')}-${kind}.json`);
      const body = JSON.stringify({ bucket, lines });
      writeFileSync(`${file}.tmp`, body);
      renameSync(`${file}.tmp`, file);
      const bytes = Buffer.byteLength(body);
      index.push({ seq, kind, file, bytes, lines: lines.length });
      totalBytes += bytes;
      enforceBound();
    },
    oldest() {
      open();
      while (index.length > 0) {
        const entry = index[0] as IndexEntry;
        try {
          const parsed = JSON.parse(readFileSync(entry.file, 'utf8')) as { bucket: string; lines: string[] };
          return { seq: entry.seq, kind: entry.kind, bucket: parsed.bucket, lines: parsed.lines };
        } catch (error) {
          // A file we cannot read back is set aside rather than blocking every later batch.
          logger.error({ err: error, file: entry.file }, 'unreadable spool file set aside');
          renameSync(entry.file, `${entry.file}.bad`);
          index.shift();
          totalBytes -= entry.bytes;
        }
      }
      return undefined;
    },
    remove(seq) {
      open();
      const position = index.findIndex((entry) => entry.seq === seq);
      if (position === -1) return;
      const [entry] = index.splice(position, 1) as [IndexEntry];
      rmSync(entry.file, { force: true });
      totalBytes -= entry.bytes;
      if (totalBytes <= maxBytes) overflowing = false;
    },
    stats() {
      open();
      return { files: index.length, bytes: totalBytes, droppedLines };
    },
  };
}

function countLines(file: string): number {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { lines: string[] }).lines.length;
  } catch {
    return 0;
  }
}
