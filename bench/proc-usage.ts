import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** CPU and memory of one Linux process, read from procfs without touching the process. */
export interface ProcUsage {
  /** User plus system CPU time so far. */
  cpuS: number;
  /** Resident set size now (VmRSS). */
  rssKb: number;
  /** Highest resident set size since the process started (VmHWM). */
  peakRssKb: number;
  threads: number;
}

/**
 * The unit of the CPU times in /proc/<pid>/stat (USER_HZ). It is part of the
 * kernel's user-space ABI and 100 on every mainstream architecture, but
 * getconf is the documented way to ask.
 */
export function clockTicksPerS(): number {
  const answer = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const ticks = Number.parseInt(answer.stdout ?? '', 10);
  return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
}

/**
 * utime and stime from the text of /proc/<pid>/stat. The second field is the
 * command name in parentheses and may itself hold spaces or parentheses
 * (proc(5)), so the fields are counted from the last ')'.
 */
export function parseProcStat(text: string, ticksPerS: number): { userS: number; systemS: number; ppid: number } {
  const close = text.lastIndexOf(')');
  if (close === -1) throw new Error('not a /proc/<pid>/stat line');
  // After ")" come field 3 (state) onwards; utime and stime are fields 14 and 15, ppid is field 4.
  const fields = text
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const ppid = Number(fields[1]);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (![ppid, utime, stime].every(Number.isFinite)) throw new Error('unexpected /proc/<pid>/stat layout');
  return { userS: utime / ticksPerS, systemS: stime / ticksPerS, ppid };
}

/** VmRSS, VmHWM and Threads from the text of /proc/<pid>/status. */
export function parseProcStatus(text: string): { rssKb: number; peakRssKb: number; threads: number } {
  const value = (name: string): number => {
    const match = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text);
    if (!match?.[1]) throw new Error(`no ${name} in /proc/<pid>/status`);
    return Number(match[1]);
  };
  return { rssKb: value('VmRSS'), peakRssKb: value('VmHWM'), threads: value('Threads') };
}

export function readProcUsage(pid: number, ticksPerS: number): ProcUsage {
  const stat = parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'), ticksPerS);
  const status = parseProcStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuS: stat.userS + stat.systemS, ...status };
}

/** The pids whose parent is `pid` (a loader may start child processes whose CPU is not in the parent's stat). */
export function childPids(pid: number, ticksPerS: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (parseProcStat(readFileSync(`/proc/${entry}/stat`, 'utf8'), ticksPerS).ppid === pid) {
        children.push(Number(entry));
      }
    } catch {
      // The process ended between readdir and read.
    }
  }
  return children;
}
