import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import * as React from 'react';

import { DEFAULT_SETTINGS } from '../../common/settings';
import { mockApi, mockHost } from '../../__tests__/helpers';
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
});
