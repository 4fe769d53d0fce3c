/**
 * CPU time and peak memory of our services over a run, from Linux's /proc:
 * utime + stime of /proc/<pid>/stat (clock ticks, all threads of the
 * process) and VmHWM of /proc/<pid>/status (the resident high-water mark).
 * A service restarted under a new pid adds its CPU time to the earlier
 * lives' and keeps the largest peak.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: Linux reports CPU times in 1/100 s on every architecture it exposes to user space. */
const CLOCK_TICKS_PER_S = 100;

export interface ProcessSample {
  cpuS: number;
  rssPeakKb: number;
}

/** One reading, or undefined when the process is gone (or this is not Linux). */
export function readProcess(pid: number): ProcessSample | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the name and the state.
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status);
    if (!Number.isFinite(ticks) || !hwm) return undefined;
    return { cpuS: ticks / CLOCK_TICKS_PER_S, rssPeakKb: Number(hwm[1]) };
  } catch {
    return undefined;
  }
}

export interface ServiceUsage {
  name: string;
  cpuS: number;
  rssPeakKb: number;
  /** How many processes (pids) the service ran as. */
  lives: number;
  samples: number;
}

export interface ResourceRecorder {
  /** Reads every tracked process now (call it right before a kill too). */
  sample(): void;
  start(intervalMs: number): void;
  stop(): void;
  usage(): ServiceUsage[];
}

export function createResourceRecorder(services: { name: string; pid(): number | undefined }[]): ResourceRecorder {
  const lives = new Map<string, Map<number, ProcessSample>>();
  const samples = new Map<string, number>();
  let timer: NodeJS.Timeout | undefined;

  function sample(): void {
    for (const service of services) {
      const pid = service.pid();
      if (pid === undefined) continue;
      const reading = readProcess(pid);
      if (!reading) continue;
      let byPid = lives.get(service.name);
      if (!byPid) {
        byPid = new Map();
        lives.set(service.name, byPid);
      }
      // CPU time only grows within one life; the latest reading is its total so far.
      byPid.set(pid, reading);
      samples.set(service.name, (samples.get(service.name) ?? 0) + 1);
    }
  }

  return {
    sample,
    start(intervalMs) {
      sample();
      timer = setInterval(sample, intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
    usage() {
      return services.map(({ name }) => {
        const readings = [...(lives.get(name)?.values() ?? [])];
        return {
          name,
          cpuS: readings.reduce((sum, reading) => sum + reading.cpuS, 0),
          rssPeakKb: Math.max(0, ...readings.map((reading) => reading.rssPeakKb)),
          lives: readings.length,
          samples: samples.get(name) ?? 0,
        };
      });
    },
  };
}

export function resourceTable(usage: ServiceUsage[], wallS: number): string {
  const lines = [
    '| service | CPU seconds | CPU % of one core | peak RSS (MiB) | processes | samples |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of usage) {
    lines.push(
      `| ${row.name} | ${row.cpuS.toFixed(2)} | ${((row.cpuS / wallS) * 100).toFixed(1)} | ${(row.rssPeakKb / 1024).toFixed(1)} | ${row.lives} | ${row.samples} |`,
    );
  }
  return lines.join('\n');
}
