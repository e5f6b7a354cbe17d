/** The service catalog (left area): connection and user, search, services grouped by name. */
import * as React from 'react';

import { O16nApi } from '../api/client';
import { IStatus, IWebService } from '../api/types';
import { IO16nHost } from '../common/host';
import { IO16nSettings } from '../common/settings';
import { EmptyState, ErrorBox, Spinner } from '../components/common';
import { filterServices, formatDate, groupServices } from './group';

export interface ICatalogPanelProps {
  api: O16nApi;
  host: IO16nHost;
  settings: IO16nSettings;
  /** bump to refresh from outside (after publish or delete) */
  refreshToken?: number;
}

function LoginForm(props: { onLogin: (user: string, password: string) => Promise<void> }): JSX.Element {
  const [user, setUser] = React.useState('');
  const [password, setPassword] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  return (
    <form
      className="o16n-login"
      aria-label="Log in to the o16n server"
      onSubmit={async e => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        try {
          await props.onLogin(user, password);
        } catch (err) {
          setError((err as Error).message);
        } finally {
          setBusy(false);
        }
      }}
    >
      <label htmlFor="o16n-login-user">User</label>
      <input id="o16n-login-user" className="jp-mod-styled o16n-input" autoComplete="username" value={user} onChange={e => setUser(e.target.value)} />
      <label htmlFor="o16n-login-password">Password</label>
      <input
        id="o16n-login-password"
        type="password"
        className="jp-mod-styled o16n-input"
        autoComplete="current-password"
        value={password}
        onChange={e => setPassword(e.target.value)}
      />
      <button type="submit" className="jp-Button jp-mod-styled jp-mod-accept" disabled={busy || !user}>
        Log in
      </button>
      <ErrorBox message={error} />
    </form>
  );
}

function StatusBar(props: { status: IStatus | null; error: string | null; onLogout: () => void }): JSX.Element {
  const { status } = props;
  const state = props.error ? 'error' : !status ? 'unknown' : status.connected ? 'connected' : 'disconnected';
  const label =
    state === 'connected'
      ? `Connected to ${status!.mode === 'embedded' ? 'the embedded server' : status!.url}`
      : state === 'disconnected'
        ? status!.message || `Not connected to ${status!.url}`
        : state === 'error'
          ? 'The o16n extension does not answer'
          : 'Connecting…';
  return (
    <div className="o16n-status" data-state={state} role="status" aria-live="polite">
      <span className="o16n-status-dot" aria-hidden="true" />
      <span className="o16n-status-text">{label}</span>
      {status?.user ? (
        <span className="o16n-user">
          {status.user.name} {status.user.role ? <span className="o16n-muted">({status.user.role})</span> : null}
        </span>
      ) : null}
      {status?.mode === 'remote' && status.user ? (
        <button type="button" className="o16n-link-button" onClick={props.onLogout}>
          Log out
        </button>
      ) : null}
    </div>
  );
}

export function CatalogPanel(props: ICatalogPanelProps): JSX.Element {
  const { api, host, settings } = props;
  const [status, setStatus] = React.useState<IStatus | null>(null);
  const [statusError, setStatusError] = React.useState<string | null>(null);
  const [services, setServices] = React.useState<IWebService[] | null>(null);
  const [error, setError] = React.useState<string | null>(null);
  const [loading, setLoading] = React.useState(false);
  const [query, setQuery] = React.useState('');
  const [collapsed, setCollapsed] = React.useState<Record<string, boolean>>({});
  const alive = React.useRef(true);
  React.useEffect(() => () => void (alive.current = false), []);

  const refresh = React.useCallback(async () => {
    setLoading(true);
    try {
      const s = await api.status();
      if (!alive.current) {
        return;
      }
      setStatus(s);
      setStatusError(null);
      if (s.connected) {
        const list = await api.listServices();
        if (alive.current) {
          setServices(list);
          setError(null);
        }
      } else {
        setServices(null);
      }
    } catch (e) {
      if (alive.current) {
        const message = (e as Error).message;
        if (!status) {
          setStatusError(message);
        }
        setError(message);
      }
    } finally {
      if (alive.current) {
        setLoading(false);
      }
    }
  }, [api]);

  React.useEffect(() => void refresh(), [refresh, props.refreshToken]);
  React.useEffect(() => {
    if (!settings.catalogRefreshInterval) {
      return;
    }
    const id = window.setInterval(() => void refresh(), settings.catalogRefreshInterval * 1000);
    return () => window.clearInterval(id);
  }, [refresh, settings.catalogRefreshInterval]);

  const groups = services ? groupServices(filterServices(services, query)) : [];
  const needsLogin = status && status.mode === 'remote' && !status.user;

  return (
    <div className="o16n-panel o16n-catalog">
      <div className="o16n-catalog-header">
        <h2 className="o16n-panel-title">Web services</h2>
        <button
          type="button"
          className="o16n-icon-button o16n-refresh"
          aria-label="Refresh the service list"
          title="Refresh"
          disabled={loading}
          onClick={() => void refresh()}
        >
          ⟳
        </button>
      </div>
      <StatusBar
        status={status}
        error={statusError}
        onLogout={async () => {
          try {
            setStatus(await api.logout());
            setServices(null);
          } catch (e) {
            setError((e as Error).message);
          }
        }}
      />
      {needsLogin ? (
        <LoginForm
          onLogin={async (user, password) => {
            setStatus(await api.login(user, password));
            await refresh();
          }}
        />
      ) : null}
      {status?.connected ? (
        <input
          type="search"
          className="jp-mod-styled o16n-input o16n-search"
          placeholder="Search name, description, publisher"
          aria-label="Search services"
          value={query}
          onChange={e => setQuery(e.target.value)}
        />
      ) : null}
      <ErrorBox message={error} />
      {loading && !services ? <Spinner label="Loading services…" /> : null}
      {services && !services.length ? (
        <EmptyState title="No web services yet.">
          Open a notebook, select the cell with the code to publish and click <em>Publish as web service</em> in the
          notebook toolbar.
        </EmptyState>
      ) : null}
      {services && services.length && !groups.length ? (
        <EmptyState title={`No service matches “${query}”.`}>Clear the search to see all services.</EmptyState>
      ) : null}
      {statusError && !status ? (
        <EmptyState title="The o16n server extension does not answer.">
          Check that the <code>o16n</code> Python package is installed in the environment running JupyterLab, then restart
          JupyterLab.
        </EmptyState>
      ) : null}
      <ul className="o16n-groups" aria-label="Services">
        {groups.map(g => {
          const open = !collapsed[g.name];
          return (
            <li key={g.name} className="o16n-group">
              <button
                type="button"
                className="o16n-group-head"
                aria-expanded={open}
                onClick={() => setCollapsed({ ...collapsed, [g.name]: open })}
              >
                <span className="o16n-caret" aria-hidden="true">
                  {open ? '▾' : '▸'}
                </span>
                <span className="o16n-group-name">{g.name}</span>
                <span className="o16n-muted o16n-count">
                  {g.versions.length} version{g.versions.length > 1 ? 's' : ''}
                </span>
              </button>
              {open ? (
                <ul className="o16n-versions" aria-label={`Versions of ${g.name}`}>
                  {g.versions.map(s => (
                    <li key={s.version} className="o16n-version">
                      <button
                        type="button"
                        className="o16n-version-open"
                        title={s.description ?? ''}
                        aria-label={`Open ${s.name} ${s.version}`}
                        onClick={() => host.openService(s.name, s.version)}
                      >
                        <span className="o16n-version-name">{s.version}</span>
                        <span className="o16n-runtime">{s.runtimeType ?? ''}</span>
                        <span className="o16n-muted o16n-version-meta">
                          {[s.versionPublishedBy ?? s.owner, formatDate(s.creationTime)].filter(Boolean).join(' · ')}
                        </span>
                        {s.description ? <span className="o16n-version-desc">{s.description}</span> : null}
                      </button>
                      <button
                        type="button"
                        className="o16n-icon-button"
                        aria-label={`Insert a consume cell for ${s.name} ${s.version}`}
                        title="Insert consume cell"
                        onClick={() => host.insertConsumeCell(s)}
                      >
                        ⤓
                      </button>
                    </li>
                  ))}
                </ul>
              ) : null}
            </li>
          );
        })}
      </ul>
    </div>
  );
}
