/** The extension's user settings (schema/plugin.json) as a typed object. */
import { VersionScheme } from './versions';

export interface IO16nSettings {
  askBeforeDelete: boolean;
  versionScheme: VersionScheme;
  /** seconds between catalog refreshes; 0 = only on demand */
  catalogRefreshInterval: number;
  showCodeSnippets: boolean;
}

export const DEFAULT_SETTINGS: IO16nSettings = {
  askBeforeDelete: true,
  versionScheme: 'v1',
  catalogRefreshInterval: 30,
  showCodeSnippets: true
};

/** Settings from the registry's composite value, falling back to the defaults for anything odd. */
export function readSettings(composite: Partial<Record<keyof IO16nSettings, unknown>> | null | undefined): IO16nSettings {
  const c = composite ?? {};
  const scheme = c.versionScheme;
  const interval = Number(c.catalogRefreshInterval);
  return {
    askBeforeDelete: typeof c.askBeforeDelete === 'boolean' ? c.askBeforeDelete : DEFAULT_SETTINGS.askBeforeDelete,
    versionScheme: scheme === 'v1' || scheme === '1.0' || scheme === 'date' ? scheme : DEFAULT_SETTINGS.versionScheme,
    catalogRefreshInterval: Number.isFinite(interval) && interval >= 0 ? interval : DEFAULT_SETTINGS.catalogRefreshInterval,
    showCodeSnippets: typeof c.showCodeSnippets === 'boolean' ? c.showCodeSnippets : DEFAULT_SETTINGS.showCodeSnippets
  };
}
