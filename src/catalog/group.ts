/** The catalog's model: services grouped by name, their versions sorted, filtered by a search. */
import { IWebService } from '../api/types';
import { compareVersions } from '../common/versions';

export interface IServiceGroup {
  name: string;
  /** newest version first */
  versions: IWebService[];
  latest: IWebService;
}

/** Group services by name (groups sorted by name, case-insensitive; versions newest first). */
export function groupServices(services: IWebService[]): IServiceGroup[] {
  const byName = new Map<string, IWebService[]>();
  for (const s of services) {
    const list = byName.get(s.name) ?? [];
    list.push(s);
    byName.set(s.name, list);
  }
  const groups: IServiceGroup[] = [];
  byName.forEach((versions, name) => {
    versions.sort((a, b) => {
      const ta = a.creationTime ? Date.parse(a.creationTime) : NaN;
      const tb = b.creationTime ? Date.parse(b.creationTime) : NaN;
      if (!Number.isNaN(ta) && !Number.isNaN(tb) && ta !== tb) {
        return tb - ta;
      }
      return compareVersions(b.version, a.version);
    });
    groups.push({ name, versions, latest: versions[0] });
  });
  groups.sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
  return groups;
}

/** Keep the services whose name, version, description, publisher or runtime contain every word. */
export function filterServices(services: IWebService[], query: string): IWebService[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) {
    return services;
  }
  return services.filter(s => {
    const text = [s.name, s.version, s.description, s.versionPublishedBy, s.runtimeType, s.operationId]
      .filter(Boolean)
      .join(' ')
      .toLowerCase();
    return words.every(w => text.includes(w));
  });
}

/** "2017-10-05T22:49:33.7832679" -> a short local date and time; the text itself when it does not parse. */
export function formatDate(value: string | undefined | null): string {
  if (!value) {
    return '';
  }
  // .NET sends 7 fractional digits and no zone: trim to milliseconds, read as UTC
  const normalized = value.replace(/(\.\d{3})\d+/, '$1');
  const withZone = /[zZ]|[+-]\d\d:?\d\d$/.test(normalized) ? normalized : `${normalized}Z`;
  const time = Date.parse(withZone);
  if (Number.isNaN(time)) {
    return value;
  }
  const d = new Date(time);
  const pad = (n: number) => (n < 10 ? `0${n}` : `${n}`);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
