/** Version naming: the next free version of a service under the chosen scheme. */

export type VersionScheme = 'v1' | '1.0' | 'date';

export const VERSION_SCHEMES: VersionScheme[] = ['v1', '1.0', 'date'];

function pad(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** The next version not in `existing`: v1 -> v2, 1.0 -> 2.0, or today's date (with .2, .3 ...). */
export function nextVersion(existing: string[], scheme: VersionScheme, today: Date = new Date()): string {
  const taken = new Set(existing.map(v => v.toLowerCase()));
  if (scheme === 'date') {
    const base = `${today.getFullYear()}-${pad(today.getMonth() + 1)}-${pad(today.getDate())}`;
    if (!taken.has(base)) {
      return base;
    }
    let i = 2;
    while (taken.has(`${base}.${i}`)) {
      i++;
    }
    return `${base}.${i}`;
  }
  // highest leading number among existing versions, whatever their spelling ("v1", "V1.0", "2.0")
  let highest = 0;
  for (const v of existing) {
    const m = /^v?(\d+)/i.exec(v.trim());
    if (m) {
      highest = Math.max(highest, parseInt(m[1], 10));
    }
  }
  let n = highest + 1;
  const make = (k: number) => (scheme === 'v1' ? `v${k}` : `${k}.0`);
  while (taken.has(make(n).toLowerCase())) {
    n++;
  }
  return make(n);
}

/** Compare versions for display: numeric parts compared as numbers ("v2" < "v10"). */
export function compareVersions(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) {
      return -1;
    }
    if (y === undefined) {
      return 1;
    }
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) {
      const d = parseInt(x, 10) - parseInt(y, 10);
      if (d !== 0) {
        return d;
      }
    } else {
      const d = x.toLowerCase().localeCompare(y.toLowerCase());
      if (d !== 0) {
        return d;
      }
    }
  }
  return 0;
}
