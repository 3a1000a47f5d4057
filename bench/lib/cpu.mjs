// Per-process figures from /proc: CPU seconds, peak and current RSS (descendants included), open connections.
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = 100;

/** The process and its descendants (a clustered gateway's workers), from /proc. */
function processTree(pid) {
  const parents = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i += 1) for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  return tree;
}

function ownCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** utime + stime of a process and its live descendants, in seconds. */
export function cpuSeconds(pid) {
  return processTree(pid).reduce((sum, p) => sum + ownCpuSeconds(p), 0);
}

/** Peak resident set size (VmHWM) in MiB: summed over the process and its descendants (an upper bound for several). */
export function peakRssMiB(pid) {
  let kB = 0;
  for (const p of processTree(pid)) {
    try {
      const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (match) kB += Number(match[1]);
    } catch {
      // gone meanwhile
    }
  }
  return kB > 0 ? kB / 1024 : NaN;
}

/** Current resident set size (VmRSS) in MiB of a process and its descendants. */
export function rssMiB(pid) {
  let kB = 0;
  for (const p of processTree(pid)) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      if (match) kB += Number(match[1]);
    } catch {
      // gone meanwhile
    }
  }
  return kB > 0 ? kB / 1024 : NaN;
}

/** TCP connections in ESTABLISHED state whose local port is `port` (a server's accepted connections), from /proc/net. */
export function establishedOn(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length > 3 && fields[1].endsWith(`:${hex}`) && fields[3] === '01') count += 1;
    }
  }
  return count;
}
