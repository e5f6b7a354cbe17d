import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import * as React from 'react';

import { DEFAULT_SETTINGS } from '../../common/settings';
import { mockApi, mockHost } from '../../__tests__/helpers';
import { O16nApiError } from '../../api/client';
import { CatalogPanel } from '../CatalogPanel';

const settings = { ...DEFAULT_SETTINGS, catalogRefreshInterval: 0 };

describe('CatalogPanel', () => {
  it('groups services by name with their versions, and opens a version', async () => {
    const api = mockApi({
      listServices: jest.fn().mockResolvedValue([
        { name: 'Iris', version: 'v1', runtimeType: 'Python', versionPublishedBy: 'admin', creationTime: '2024-01-01T00:00:00' },
        { name: 'Iris', version: 'v2', runtimeType: 'Python', versionPublishedBy: 'admin', creationTime: '2024-02-01T00:00:00', description: 'string output' },
        { name: 'Double', version: '1.0', runtimeType: 'Python' }
      ])
    });
    const host = mockHost();
    render(<CatalogPanel api={api} host={host as any} settings={settings} />);
    const iris = await screen.findByRole('list', { name: 'Versions of Iris' });
    expect(within(iris).getAllByRole('listitem')).toHaveLength(2);
    const groups = screen.getAllByRole('button', { expanded: true });
    expect(groups.map(g => g.textContent)).toEqual([expect.stringContaining('Double'), expect.stringContaining('Iris')]);
    expect(screen.getByText('Connected to the embedded server')).toBeInTheDocument();
    expect(screen.getByText('admin')).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Open Iris v2' }));
    expect(host.openService).toHaveBeenCalledWith('Iris', 'v2');
    fireEvent.click(screen.getByRole('button', { name: 'Insert a consume cell for Double 1.0' }));
    expect(host.insertConsumeCell).toHaveBeenCalledWith(expect.objectContaining({ name: 'Double' }));
  });

  it('labels the insert-cell control with text, not a bare glyph (#13 item 10)', async () => {
    const api = mockApi({ listServices: jest.fn().mockResolvedValue([{ name: 'Double', version: '1.0' }]) });
    render(<CatalogPanel api={api} host={mockHost() as any} settings={settings} />);
    const button = await screen.findByRole('button', { name: 'Insert a consume cell for Double 1.0' });
    expect(button).toHaveTextContent('Consume cell');
  });

  it('searches', async () => {
    const api = mockApi({
      listServices: jest.fn().mockResolvedValue([
        { name: 'Iris', version: 'v1', description: 'flowers' },
        { name: 'Cars', version: 'v1' }
      ])
    });
    render(<CatalogPanel api={api} host={mockHost() as any} settings={settings} />);
    await screen.findByText('Cars');
    fireEvent.change(screen.getByLabelText('Search services'), { target: { value: 'flow' } });
    expect(screen.queryByText('Cars')).not.toBeInTheDocument();
    fireEvent.change(screen.getByLabelText('Search services'), { target: { value: 'zzz' } });
    expect(screen.getByText('No service matches “zzz”.')).toBeInTheDocument();
  });

  it('says what to do when there are no services', async () => {
    render(<CatalogPanel api={mockApi()} host={mockHost() as any} settings={settings} />);
    expect(await screen.findByText('No web services yet.')).toBeInTheDocument();
  });

  it('asks to log in when a remote server needs it, and logs in', async () => {
    const status = { connected: false, mode: 'remote', url: 'https://o16n.example', user: null, server: null, message: 'Log in to https://o16n.example' };
    const api = mockApi({
      status: jest.fn().mockResolvedValueOnce(status).mockResolvedValue({ ...status, connected: true, user: { name: 'ann', role: 'Contributor' } }),
      login: jest.fn().mockResolvedValue({ ...status, connected: true, user: { name: 'ann', role: 'Contributor' } })
    });
    render(<CatalogPanel api={api} host={mockHost() as any} settings={settings} />);
    fireEvent.change(await screen.findByLabelText('User'), { target: { value: 'ann' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'pw' } });
    fireEvent.click(screen.getByRole('button', { name: 'Log in' }));
    await waitFor(() => expect(api.login).toHaveBeenCalledWith('ann', 'pw'));
    expect(await screen.findByRole('button', { name: 'Log out' })).toBeInTheDocument();
  });

  it('explains when the server extension does not answer', async () => {
    const api = mockApi({ status: jest.fn().mockRejectedValue(new Error('404 Not Found')) });
    render(<CatalogPanel api={api} host={mockHost() as any} settings={settings} />);
    expect(await screen.findByText('The o16n server extension does not answer.')).toBeInTheDocument();
  });
  const embeddedOut = { connected: false, mode: 'embedded', url: 'http://127.0.0.1:5000', user: null, server: null, message: 'logged out' };
  const admin = { connected: true, mode: 'embedded', url: 'http://127.0.0.1:5000', user: { name: 'admin', role: 'Owner' }, server: {}, message: null };

  it('shows why it is disconnected and logs in again as admin in embedded mode', async () => {
    const api = mockApi({
      status: jest.fn().mockResolvedValueOnce(embeddedOut).mockResolvedValue(admin),
      loginAgain: jest.fn().mockResolvedValue(admin),
      listServices: jest.fn().mockResolvedValue([{ name: 'Iris', version: 'v1' }])
    });
    render(<CatalogPanel api={api} host={mockHost() as any} settings={settings} />);
    expect(await screen.findByText('Not connected to the embedded server')).toBeInTheDocument();
    expect(screen.getByText('logged out')).toBeInTheDocument();
    expect(screen.queryByLabelText('User')).not.toBeInTheDocument(); // no login form in embedded mode
    expect(api.listServices).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole('button', { name: 'Log in again as admin' }));
    await waitFor(() => expect(api.loginAgain).toHaveBeenCalled());
    expect(await screen.findByRole('button', { name: 'Open Iris v1' })).toBeInTheDocument();
    expect(screen.getByText('Connected to the embedded server')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Log in again as admin' })).not.toBeInTheDocument();
  });

  it('logs out in embedded mode too', async () => {
    const api = mockApi({ status: jest.fn().mockResolvedValue(admin), logout: jest.fn().mockResolvedValue(embeddedOut) });
    render(<CatalogPanel api={api} host={mockHost() as any} settings={settings} />);
    fireEvent.click(await screen.findByRole('button', { name: 'Log out' }));
    expect(await screen.findByRole('button', { name: 'Log in again as admin' })).toBeInTheDocument();
  });

  it('shows the user without a role when the API cannot tell (remote mode)', async () => {
    const api = mockApi({
      status: jest.fn().mockResolvedValue({ ...admin, mode: 'remote', url: 'https://o16n.example', user: { name: 'ann', role: null } })
    });
    render(<CatalogPanel api={api} host={mockHost() as any} settings={settings} />);
    const user = await screen.findByLabelText('Logged in as ann');
    expect(user).toHaveTextContent(/^ann$/);
  });

  it('asks to log in again when o16n refuses our login (401)', async () => {
    const remote = { ...admin, mode: 'remote', url: 'https://o16n.example', user: { name: 'ann', role: null } };
    const api = mockApi({
      status: jest.fn().mockResolvedValue(remote),
      listServices: jest.fn().mockRejectedValue(new O16nApiError('o16n refused the login', 401))
    });
    render(<CatalogPanel api={api} host={mockHost() as any} settings={settings} />);
    expect(await screen.findByRole('form', { name: 'Log in to the o16n server' })).toBeInTheDocument();
    expect(screen.getByText('o16n refused the login')).toBeInTheDocument();
    expect(screen.queryByText('The o16n server extension does not answer.')).not.toBeInTheDocument();
  });

  it('is operable with the keyboard: arrows move between rows, Left/Right close and open, Enter opens a version', async () => {
    const api = mockApi({
      listServices: jest.fn().mockResolvedValue([
        { name: 'Double', version: '1.0' },
        { name: 'Iris', version: 'v1', creationTime: '2024-01-01T00:00:00' },
        { name: 'Iris', version: 'v2', creationTime: '2024-02-01T00:00:00' }
      ])
    });
    const host = mockHost();
    render(<CatalogPanel api={api} host={host as any} settings={settings} />);
    const double = await screen.findByRole('button', { name: /Double/, expanded: true });
    double.focus();
    fireEvent.keyDown(double, { key: 'ArrowDown' });
    expect(screen.getByRole('button', { name: 'Open Double 1.0' })).toHaveFocus();
    fireEvent.keyDown(document.activeElement!, { key: 'ArrowDown' });
    const iris = screen.getByRole('button', { name: /Iris/, expanded: true });
    expect(iris).toHaveFocus();
    fireEvent.keyDown(iris, { key: 'ArrowLeft' });
    expect(screen.getByRole('button', { name: /Iris/ })).toHaveAttribute('aria-expanded', 'false');
    expect(screen.queryByRole('button', { name: 'Open Iris v2' })).not.toBeInTheDocument();
    fireEvent.keyDown(iris, { key: 'ArrowRight' });
    expect(iris).toHaveAttribute('aria-expanded', 'true');
    fireEvent.keyDown(iris, { key: 'ArrowRight' });
    const v2 = screen.getByRole('button', { name: 'Open Iris v2' });
    expect(v2).toHaveFocus();
    fireEvent.keyDown(v2, { key: 'Enter' });
    expect(host.openService).toHaveBeenCalledWith('Iris', 'v2');
    fireEvent.keyDown(v2, { key: 'ArrowLeft' });
    expect(iris).toHaveFocus();
    fireEvent.keyDown(iris, { key: 'End' });
    expect(screen.getByRole('button', { name: 'Open Iris v1' })).toHaveFocus();
    fireEvent.keyDown(document.activeElement!, { key: 'Home' });
    expect(double).toHaveFocus();
  });
});
