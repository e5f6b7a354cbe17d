/**
 * The connection part of the catalog: who is logged in to which o16n server, why we are not
 * connected (the status' `message`), and the ways back in: the login form (remote mode) or
 * "Log in again" (embedded mode, after a logout: an empty login body logs in as admin).
 */
import * as React from 'react';

import { IStatus } from '../api/types';
import { ErrorBox } from '../components/common';

export type ConnectionState = 'connected' | 'disconnected' | 'error' | 'unknown';

export function connectionState(status: IStatus | null, error: string | null): ConnectionState {
  if (error && !status) {
    return 'error';
  }
  return !status ? 'unknown' : status.connected ? 'connected' : 'disconnected';
}

function stateLabel(state: ConnectionState, status: IStatus | null): string {
  switch (state) {
    case 'connected':
      return `Connected to ${status!.mode === 'embedded' ? 'the embedded server' : status!.url}`;
    case 'disconnected':
      return `Not connected to ${status!.mode === 'embedded' ? 'the embedded server' : status!.url}`;
    case 'error':
      return 'The o16n extension does not answer';
    default:
      return 'Connecting…';
  }
}

export interface IStatusBarProps {
  status: IStatus | null;
  error: string | null;
  onLogout: () => void;
  /** embedded mode, nobody logged in (or o16n refused our login): offer "Log in again" */
  canLoginAgain: boolean;
  /** embedded mode: log in as admin again */
  onLoginAgain: () => Promise<void>;
}

export function StatusBar(props: IStatusBarProps): JSX.Element {
  const { status } = props;
  const state = connectionState(status, props.error);
  const [busy, setBusy] = React.useState(false);
  const [loginError, setLoginError] = React.useState<string | null>(null);
  const loginAgain = async () => {
    setBusy(true);
    setLoginError(null);
    try {
      await props.onLoginAgain();
    } catch (e) {
      setLoginError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="o16n-status" data-state={state}>
      <div className="o16n-status-line" role="status" aria-live="polite">
        <span className="o16n-status-dot" aria-hidden="true" />
        <span className="o16n-status-text">{stateLabel(state, status)}</span>
        {status?.user ? (
          <span className="o16n-user" aria-label={`Logged in as ${status.user.name}${status.user.role ? `, ${status.user.role}` : ''}`}>
            {status.user.name}
            {/* role is null when the API cannot tell (remote mode): show nothing rather than guess */}
            {status.user.role ? <span className="o16n-muted"> ({status.user.role})</span> : null}
          </span>
        ) : null}
      </div>
      {state === 'disconnected' && status?.message ? <p className="o16n-status-message">{status.message}</p> : null}
      <div className="o16n-status-actions">
        {status?.user ? (
          <button type="button" className="o16n-link-button" onClick={props.onLogout}>
            Log out
          </button>
        ) : null}
        {props.canLoginAgain ? (
          <button type="button" className="jp-Button jp-mod-styled jp-mod-accept" disabled={busy} onClick={() => void loginAgain()}>
            Log in again as admin
          </button>
        ) : null}
      </div>
      <ErrorBox message={loginError} title="Could not log in" />
    </div>
  );
}

export function LoginForm(props: { url: string; onLogin: (user: string, password: string) => Promise<void> }): JSX.Element {
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
      <p className="o16n-muted">Log in to {props.url || 'the o16n server'}:</p>
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
