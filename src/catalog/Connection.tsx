/**
 * The connection part of the catalog: who is logged in to which o16n server and how they signed in
 * (local, LDAP, OpenID Connect: the status' `account`), why we are not connected (the status'
 * `message`), and the ways back in: the login form with the OpenID Connect sign-in the server
 * extension offers (remote mode), the device-code prompt while that sign-in waits for the user, or
 * "Log in again" (embedded mode, after a logout: an empty login body logs in as admin).
 */
import * as React from 'react';

import { IAccount, IDevicePrompt, IStatus, LoginMethod } from '../api/types';
import { CopyButton, ErrorBox, Spinner } from '../components/common';

export const WAITING_FOR_DEVICE = 'waiting for device sign-in';

const PROVIDERS: Record<string, string> = { local: 'a local account', ldap: 'LDAP', oidc: 'OpenID Connect' };

/** "LDAP", "OpenID Connect", "a local account"; an unknown provider by its own name. */
export function providerLabel(provider: string): string {
  return PROVIDERS[provider] ?? provider;
}

/** Only http(s) addresses become links (never `javascript:` or `data:`). */
export function safeHref(url: string | null | undefined): string | null {
  if (!url) {
    return null;
  }
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}

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
        {status?.user && !status.account?.provider ? (
          <span className="o16n-user" aria-label={`Logged in as ${status.user.name}${status.user.role ? `, ${status.user.role}` : ''}`}>
            {status.user.name}
            {/* role is null when the API cannot tell (remote mode): show nothing rather than guess */}
            {status.user.role ? <span className="o16n-muted"> ({status.user.role})</span> : null}
          </span>
        ) : null}
      </div>
      {status?.user && status.account?.provider ? <AccountLine name={status.user.name} role={status.user.role} account={status.account} /> : null}
      {state === 'disconnected' && status?.message && !status.device ? <p className="o16n-status-message">{status.message}</p> : null}
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

/** "Signed in with LDAP as alice (Contributor)"; the display name and the role's source on hover. */
export function AccountLine(props: { name: string; role: string | null; account: IAccount }): JSX.Element {
  const { account } = props;
  const details = [
    account.displayName && account.displayName !== props.name ? account.displayName : null,
    account.roleSource ? `role from ${account.roleSource}` : null
  ].filter(Boolean);
  return (
    <p className="o16n-account" title={details.join('; ') || undefined}>
      Signed in with {providerLabel(account.provider ?? '')} as <strong className="o16n-account-name">{props.name}</strong>
      {props.role ? ` (${props.role})` : null}
    </p>
  );
}

function minutesLeft(expiresAt: string, now: number): string {
  const seconds = Math.max(0, Math.round((Date.parse(expiresAt) - now) / 1000));
  if (seconds < 60) {
    return `${seconds} second${seconds === 1 ? '' : 's'}`;
  }
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/**
 * The device-code sign-in waiting for the user: the page to open (a link), the code to enter
 * (with a copy button) and how long it stays valid. The server extension polls the provider and
 * the catalog polls the status, so nothing here needs the user to come back and click.
 */
export function DevicePrompt(props: { prompt: IDevicePrompt; onCancel: () => void }): JSX.Element {
  const { prompt } = props;
  const [now, setNow] = React.useState(() => Date.now());
  React.useEffect(() => {
    const id = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(id);
  }, []);
  const page = safeHref(prompt.verificationUri);
  const filledIn = safeHref(prompt.verificationUriComplete);
  const expired = Date.parse(prompt.expiresAt) <= now;
  const until = new Date(prompt.expiresAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return (
    <section className="o16n-device" aria-labelledby="o16n-device-title">
      <h3 id="o16n-device-title" className="o16n-device-title">
        Sign in with OpenID Connect
      </h3>
      <p className="o16n-device-step">
        Open{' '}
        {page ? (
          <a href={page} target="_blank" rel="noopener noreferrer" className="o16n-device-link">
            {prompt.verificationUri}
          </a>
        ) : (
          <code>{prompt.verificationUri}</code>
        )}{' '}
        and enter this code:
      </p>
      <div className="o16n-device-code-row">
        <code className="o16n-device-code" aria-label={`Sign-in code ${prompt.userCode}`}>
          {prompt.userCode}
        </code>
        <CopyButton text={prompt.userCode} label="Copy the sign-in code" />
      </div>
      {filledIn ? (
        <p className="o16n-device-step">
          <a href={filledIn} target="_blank" rel="noopener noreferrer" className="o16n-device-link">
            Open the sign-in page with the code filled in
          </a>
        </p>
      ) : null}
      <p className="o16n-muted o16n-device-expiry">
        {expired ? 'The code has expired.' : `The code expires in ${minutesLeft(prompt.expiresAt, now)} (at ${until}).`}
      </p>
      <div className="o16n-device-actions">
        {expired ? null : <Spinner label="Waiting for you to sign in…" />}
        <button type="button" className="o16n-link-button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </section>
  );
}

export interface ILoginFormProps {
  url: string;
  onLogin: (user: string, password: string) => Promise<void>;
  /** the status' `loginMethods`: `device` / `client_credentials` add a button above the form */
  methods?: LoginMethod[];
  onDeviceLogin?: () => Promise<void>;
  onClientCredentials?: () => Promise<void>;
}

export function LoginForm(props: ILoginFormProps): JSX.Element {
  const [user, setUser] = React.useState('');
  const [password, setPassword] = React.useState('');
  const [error, setError] = React.useState<string | null>(null);
  const [busy, setBusy] = React.useState(false);
  const attempt = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const methods = props.methods ?? [];
  const oidc =
    methods.includes('device') && props.onDeviceLogin
      ? { label: 'Sign in with OpenID Connect', run: props.onDeviceLogin }
      : methods.includes('client_credentials') && props.onClientCredentials
        ? { label: 'Sign in with the client credentials', run: props.onClientCredentials }
        : null;
  return (
    <form
      className="o16n-login"
      aria-label="Log in to the o16n server"
      onSubmit={async e => {
        e.preventDefault();
        await attempt(() => props.onLogin(user, password));
      }}
    >
      <p className="o16n-muted">Log in to {props.url || 'the o16n server'}:</p>
      {oidc ? (
        <div className="o16n-login-oidc">
          <button type="button" className="jp-Button jp-mod-styled jp-mod-accept" disabled={busy} onClick={() => void attempt(oidc.run)}>
            {oidc.label}
          </button>
          <p className="o16n-muted">or with a user name and password:</p>
        </div>
      ) : null}
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
      <button type="submit" className={`jp-Button jp-mod-styled ${oidc ? 'jp-mod-reject' : 'jp-mod-accept'}`} disabled={busy || !user}>
        Log in
      </button>
      <ErrorBox message={error} />
    </form>
  );
}
