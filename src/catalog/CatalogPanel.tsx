/** The service catalog (left area): connection and user, search, services grouped by name. */
import * as React from 'react';

import { O16nApi, isNotLoggedIn } from '../api/client';
import { IStatus, IWebService } from '../api/types';
import { IO16nHost } from '../common/host';
import { IO16nSettings } from '../common/settings';
import { EmptyState, ErrorBox, Spinner } from '../components/common';
import { DevicePrompt, LoginForm, StatusBar, WAITING_FOR_DEVICE } from './Connection';
import { filterServices, groupServices } from './group';
import { ServiceTree } from './ServiceTree';

export interface ICatalogPanelProps {
  api: O16nApi;
  host: IO16nHost;
  settings: IO16nSettings;
  /** bump to refresh from outside (after publish or delete) */
  refreshToken?: number;
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
  /** the last call answered 401: o16n refused our login even though the status named a user */
  const [refused, setRefused] = React.useState(false);
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
      setRefused(false);
    } catch (e) {
      if (!alive.current) {
        return;
      }
      if (isNotLoggedIn(e)) {
        // not logged in (any more): the status says what to do next, the list is gone
        setRefused(true);
        setServices(null);
        setError((e as Error).message);
        const fresh = await api.status().catch(() => null);
        if (fresh && alive.current) {
          setStatus(fresh);
        }
        return;
      }
      const message = (e as Error).message;
      setStatusError(message);
      setError(message);
    } finally {
      if (alive.current) {
        setLoading(false);
      }
    }
  }, [api]);

  React.useEffect(() => void refresh(), [refresh, props.refreshToken]);
  // While a device sign-in waits for the user, follow it closely: the catalog fills once it is done.
  const waiting = status?.login === WAITING_FOR_DEVICE;
  React.useEffect(() => {
    if (!waiting) {
      return;
    }
    const id = window.setInterval(() => void refresh(), 2000);
    return () => window.clearInterval(id);
  }, [refresh, waiting]);
  React.useEffect(() => {
    if (!settings.catalogRefreshInterval) {
      return;
    }
    const id = window.setInterval(() => void refresh(), settings.catalogRefreshInterval * 1000);
    return () => window.clearInterval(id);
  }, [refresh, settings.catalogRefreshInterval]);

  const groups = services ? groupServices(filterServices(services, query)) : [];
  const needsLogin = !!status && status.mode === 'remote' && (!status.user || refused) && !waiting;

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
            setError(null);
          } catch (e) {
            setError((e as Error).message);
          }
        }}
        canLoginAgain={!!status && status.mode === 'embedded' && (!status.user || refused)}
        onLoginAgain={async () => {
          setStatus(await api.loginAgain());
          await refresh();
        }}
      />
      {waiting && status?.device ? (
        <DevicePrompt
          prompt={status.device}
          onCancel={async () => {
            try {
              setStatus(await api.logout());
            } catch (e) {
              setError((e as Error).message);
            }
          }}
        />
      ) : null}
      {needsLogin ? (
        <LoginForm
          url={status.url}
          methods={status.loginMethods}
          onLogin={async (user, password) => {
            setStatus(await api.login(user, password));
            await refresh();
          }}
          onDeviceLogin={async () => {
            setStatus(await api.loginWithDevice());
          }}
          onClientCredentials={async () => {
            setStatus(await api.loginWithClientCredentials());
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
      <ServiceTree
        groups={groups}
        collapsed={collapsed}
        onToggle={(name, collapse) => setCollapsed(c => ({ ...c, [name]: collapse }))}
        onOpen={s => host.openService(s.name, s.version)}
        onInsertConsume={s => host.insertConsumeCell(s)}
      />
    </div>
  );
}
