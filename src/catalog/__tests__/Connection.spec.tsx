import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import * as React from 'react';

import { DEFAULT_SETTINGS } from '../../common/settings';
import { mockApi, mockHost } from '../../__tests__/helpers';
import { IDevicePrompt, IStatus } from '../../api/types';
import { CatalogPanel } from '../CatalogPanel';
import { AccountLine, DevicePrompt, StatusBar, providerLabel, safeHref } from '../Connection';

const settings = { ...DEFAULT_SETTINGS, catalogRefreshInterval: 0 };
const inMinutes = (m: number) => new Date(Date.now() + m * 60000).toISOString();

const remote: IStatus = {
  connected: true,
  mode: 'remote',
  url: 'https://o16n.example',
  user: { name: 'alice', role: 'Contributor' },
  account: { provider: 'ldap', displayName: 'Alice Liddell', roleSource: 'ldap group cn=data-scientists,ou=groups' },
  server: {},
  message: null,
  login: 'logged in',
  loginMethods: ['password', 'device']
};

const prompt: IDevicePrompt = {
  userCode: 'WDJB-MJHT',
  verificationUri: 'https://login.example/device',
  verificationUriComplete: 'https://login.example/device?user_code=WDJB-MJHT',
  expiresAt: inMinutes(9.5),
  interval: 5
};

describe('how the user signed in', () => {
  it('names the provider: LDAP, OpenID Connect, a local account', () => {
    expect(providerLabel('ldap')).toBe('LDAP');
    expect(providerLabel('oidc')).toBe('OpenID Connect');
    expect(providerLabel('local')).toBe('a local account');
    expect(providerLabel('saml')).toBe('saml');
  });

  it('says "Signed in with LDAP as alice (Contributor)", with the display name and role source on hover', () => {
    render(<StatusBar status={remote} error={null} onLogout={jest.fn()} canLoginAgain={false} onLoginAgain={jest.fn()} />);
    const line = screen.getByText(/Signed in with/);
    expect(line).toHaveTextContent('Signed in with LDAP as alice (Contributor)');
    expect(line).toHaveAttribute('title', 'Alice Liddell; role from ldap group cn=data-scientists,ou=groups');
    expect(screen.queryByLabelText(/Logged in as/)).not.toBeInTheDocument(); // said once, not twice
    expect(screen.getByRole('button', { name: 'Log out' })).toBeInTheDocument();
  });

  it('reads the same for OpenID Connect and local users; no role, no parentheses', () => {
    const { rerender } = render(
      <AccountLine name="owner-app@example.org" role="Owner" account={{ provider: 'oidc', displayName: null, roleSource: null }} />
    );
    expect(screen.getByText(/Signed in/)).toHaveTextContent('Signed in with OpenID Connect as owner-app@example.org (Owner)');
    rerender(<AccountLine name="admin" role={null} account={{ provider: 'local', displayName: 'admin', roleSource: null }} />);
    const line = screen.getByText(/Signed in/);
    expect(line).toHaveTextContent(/^Signed in with a local account as admin$/);
    expect(line).not.toHaveAttribute('title');
  });
});

describe('the device-code prompt', () => {
  it('shows the page as a link, the code with a copy button and when it expires', async () => {
    const writeText = jest.fn().mockResolvedValue(undefined);
    Object.assign(navigator, { clipboard: { writeText } });
    const onCancel = jest.fn();
    render(<DevicePrompt prompt={prompt} onCancel={onCancel} />);
    const region = screen.getByRole('region', { name: 'Sign in with OpenID Connect' });
    expect(region).toBeInTheDocument();
    const link = screen.getByRole('link', { name: 'https://login.example/device' });
    expect(link).toHaveAttribute('href', 'https://login.example/device');
    expect(link).toHaveAttribute('target', '_blank');
    expect(link).toHaveAttribute('rel', 'noopener noreferrer');
    expect(screen.getByRole('link', { name: 'Open the sign-in page with the code filled in' })).toHaveAttribute(
      'href',
      prompt.verificationUriComplete
    );
    expect(screen.getByLabelText('Sign-in code WDJB-MJHT')).toHaveTextContent('WDJB-MJHT');
    fireEvent.click(screen.getByRole('button', { name: 'Copy the sign-in code' }));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith('WDJB-MJHT'));
    expect(await screen.findByRole('button', { name: 'Copy the sign-in code' })).toHaveTextContent('Copied');
    expect(screen.getByText(/The code expires in 10 minutes \(at /)).toBeInTheDocument();
    expect(screen.getByRole('progressbar', { name: 'Waiting for you to sign in…' })).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(onCancel).toHaveBeenCalled();
  });

  it('counts down, and says when the code has expired', () => {
    jest.useFakeTimers();
    try {
      render(<DevicePrompt prompt={{ ...prompt, expiresAt: new Date(Date.now() + 2500).toISOString() }} onCancel={jest.fn()} />);
      expect(screen.getByText(/expires in 3 seconds/)).toBeInTheDocument();
      act(() => void jest.advanceTimersByTime(3000));
      expect(screen.getByText('The code has expired.')).toBeInTheDocument();
      expect(screen.queryByRole('progressbar')).not.toBeInTheDocument();
    } finally {
      jest.useRealTimers();
    }
  });

  it('never links anything but a web address', () => {
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('data:text/html,hi')).toBeNull();
    expect(safeHref('https://login.example/device')).toBe('https://login.example/device');
    render(
      <DevicePrompt prompt={{ ...prompt, verificationUri: 'javascript:alert(1)', verificationUriComplete: null }} onCancel={jest.fn()} />
    );
    expect(screen.queryByRole('link')).not.toBeInTheDocument();
    expect(screen.getByText('javascript:alert(1)').tagName).toBe('CODE');
  });
});

describe('signing in from the catalog', () => {
  const loggedOut: IStatus = { ...remote, connected: false, user: null, account: null, login: 'logged out', message: 'not logged in' };
  const waiting: IStatus = {
    ...loggedOut,
    login: 'waiting for device sign-in',
    device: prompt,
    message: 'to sign in, open https://login.example/device and enter the code WDJB-MJHT'
  };
  const signedIn: IStatus = {
    ...remote,
    user: { name: 'alice@example.org', role: 'Contributor' },
    account: { provider: 'oidc', displayName: 'Alice', roleSource: null }
  };

  it('starts a device sign-in, shows the prompt while waiting, then the signed-in user and the services', async () => {
    const api = mockApi({
      status: jest.fn().mockResolvedValueOnce(loggedOut).mockResolvedValueOnce(waiting).mockResolvedValue(signedIn),
      loginWithDevice: jest.fn().mockResolvedValue(waiting),
      listServices: jest.fn().mockResolvedValue([{ name: 'Iris', version: 'v1' }])
    });
    render(<CatalogPanel api={api} host={mockHost() as any} settings={settings} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Sign in with OpenID Connect' }));
    await waitFor(() => expect(api.loginWithDevice).toHaveBeenCalled());
    expect(await screen.findByLabelText('Sign-in code WDJB-MJHT')).toBeInTheDocument();
    expect(screen.queryByRole('form', { name: 'Log in to the o16n server' })).not.toBeInTheDocument();
    expect(screen.queryByText(waiting.message!)).not.toBeInTheDocument(); // the prompt says it better
    // the catalog polls the status while waiting; the relay finishes the sign-in meanwhile
    expect(await screen.findByText(/Signed in with OpenID Connect as/, {}, { timeout: 6000 })).toHaveTextContent(
      'Signed in with OpenID Connect as alice@example.org (Contributor)'
    );
    expect(await screen.findByRole('button', { name: 'Open Iris v1' })).toBeInTheDocument();
    expect(screen.queryByRole('region', { name: 'Sign in with OpenID Connect' })).not.toBeInTheDocument();
  });

  it('cancels a waiting sign-in with a logout', async () => {
    const api = mockApi({ status: jest.fn().mockResolvedValue(waiting), logout: jest.fn().mockResolvedValue(loggedOut) });
    render(<CatalogPanel api={api} host={mockHost() as any} settings={settings} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(api.logout).toHaveBeenCalled());
    expect(await screen.findByRole('button', { name: 'Sign in with OpenID Connect' })).toBeInTheDocument();
  });

  it('offers the client-credentials sign-in again after a failure, with the reason', async () => {
    const failed: IStatus = {
      ...loggedOut,
      login: 'failed',
      loginMethods: ['password', 'client_credentials'],
      message: 'cannot sign in to https://o16n.example with client credentials: invalid_client'
    };
    const api = mockApi({
      status: jest.fn().mockResolvedValueOnce(failed).mockResolvedValue(signedIn),
      loginWithClientCredentials: jest.fn().mockResolvedValue(signedIn)
    });
    render(<CatalogPanel api={api} host={mockHost() as any} settings={settings} />);
    expect(await screen.findByText(failed.message!)).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Sign in with the client credentials' }));
    await waitFor(() => expect(api.loginWithClientCredentials).toHaveBeenCalled());
    expect(await screen.findByText(/Signed in with OpenID Connect/)).toBeInTheDocument();
  });

  it('shows the sign-in error from the server extension', async () => {
    const api = mockApi({
      status: jest.fn().mockResolvedValue(loggedOut),
      loginWithDevice: jest.fn().mockRejectedValue(new Error('OpenID Connect sign-in: cannot reach the OpenID provider'))
    });
    render(<CatalogPanel api={api} host={mockHost() as any} settings={settings} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Sign in with OpenID Connect' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('cannot reach the OpenID provider');
  });
});
