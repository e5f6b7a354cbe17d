/**
 * Screen readers: every control of the views has an accessible name. For each role, the controls
 * found must equal the controls found with a non-empty name.
 */
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import * as React from 'react';

import { CatalogPanel } from '../../catalog/CatalogPanel';
import { ServiceDetail } from '../../catalog/ServiceDetail';
import { DEFAULT_SETTINGS } from '../../common/settings';
import { PublishPanel } from '../../publish/PublishPanel';
import { mockApi, mockHost } from '../../__tests__/helpers';

const ROLES = ['button', 'textbox', 'searchbox', 'combobox', 'checkbox', 'radio', 'spinbutton', 'tab', 'link'] as const;

function expectEveryControlNamed(): void {
  for (const role of ROLES) {
    const all = screen.queryAllByRole(role, { hidden: false });
    const named = screen.queryAllByRole(role, { name: /\S/ });
    const unnamed = all.filter(el => !named.includes(el)).map(el => el.outerHTML.slice(0, 120));
    expect({ role, unnamed }).toEqual({ role, unnamed: [] });
  }
}

const iris = {
  name: 'Iris',
  version: 'v1',
  runtimeType: 'Python',
  description: 'Iris variety',
  inputParameterDefinitions: [
    { name: 'flower_data', type: 'vector' },
    { name: 'k', type: 'integer' },
    { name: 'label', type: 'character' },
    { name: 'strict', type: 'logical' }
  ],
  outputParameterDefinitions: [{ name: 'iris_type', type: 'character' }],
  myPermissionOnService: 'read/write'
};

describe('accessible names', () => {
  it('publish panel', async () => {
    const api = mockApi({
      kernelNamespace: jest.fn().mockResolvedValue({
        objects: [{ name: 'clf', type: 'SVC', size: 10, picklable: true }],
        functions: []
      })
    });
    const host = mockHost({ listFiles: jest.fn().mockResolvedValue(['work/data.csv']) });
    render(
      <PublishPanel
        api={api}
        host={host as any}
        settings={DEFAULT_SETTINGS}
        selection={{ path: 'work/iris.ipynb', kernelId: 'k1', selectedCode: 'y = clf.predict([x])' }}
        onRefreshSelection={jest.fn()}
      />
    );
    await screen.findByRole('table', { name: 'Kernel objects' });
    await screen.findByLabelText('work/data.csv', { exact: false });
    expectEveryControlNamed();
  });

  it('publish panel: the environment rows (captured and added) and the model mode', async () => {
    const api = mockApi({
      kernelNamespace: jest.fn().mockResolvedValue({
        objects: [
          { name: 'clf', type: 'SVC', size: 10, picklable: true, estimator: true },
          { name: 'X', type: 'ndarray', size: 10, shape: [150, 4], picklable: true }
        ],
        functions: []
      }),
      analyze: jest.fn().mockResolvedValue({
        inputs: [{ name: 'x', type: 'vector', reason: null }],
        outputs: [{ name: 'y', type: 'numeric', reason: null }],
        objects: [{ name: 'clf', reason: 'read by the code' }],
        function: null,
        environment: { python: '3.13.1', packages: [{ name: 'scikit-learn', version: '1.5.2', serverVersion: '1.4.0', reason: 'provides sklearn' }] }
      })
    });
    render(
      <PublishPanel
        api={api}
        host={mockHost() as any}
        settings={DEFAULT_SETTINGS}
        selection={{ path: 'work/iris.ipynb', kernelId: 'k1', selectedCode: 'y = clf.predict([x])' }}
        onRefreshSelection={jest.fn()}
        analysisDelay={0}
      />
    );
    await screen.findByLabelText('Pin of scikit-learn');
    fireEvent.click(screen.getByRole('button', { name: '+ Add package' }));
    expectEveryControlNamed();
    fireEvent.click(screen.getByLabelText('A model (realtime)'));
    await screen.findByLabelText('Model variable');
    expectEveryControlNamed();
  });

  it('catalog with the login form', async () => {
    const api = mockApi({
      status: jest.fn().mockResolvedValue({ connected: false, mode: 'remote', url: 'https://o16n.example', user: null, server: null, message: 'not logged in' })
    });
    render(<CatalogPanel api={api} host={mockHost() as any} settings={{ ...DEFAULT_SETTINGS, catalogRefreshInterval: 0 }} />);
    await screen.findByRole('form', { name: 'Log in to the o16n server' });
    expectEveryControlNamed();
  });

  it('catalog with services', async () => {
    const api = mockApi({ listServices: jest.fn().mockResolvedValue([iris, { ...iris, version: 'v2' }]) });
    render(<CatalogPanel api={api} host={mockHost() as any} settings={{ ...DEFAULT_SETTINGS, catalogRefreshInterval: 0 }} />);
    await screen.findByRole('button', { name: 'Open Iris v2' });
    expectEveryControlNamed();
  });

  it('service view, every tab', async () => {
    const api = mockApi({
      getService: jest.fn().mockResolvedValue(iris),
      swagger: jest.fn().mockResolvedValue({ swagger: '2.0', paths: { '/api/Iris/v1': { post: { operationId: 'Iris' } } } }),
      startBatch: jest.fn().mockResolvedValue({ executionId: 'e1' }),
      batchStatus: jest.fn().mockResolvedValue({ state: 'InProgress', completedItemCount: 0, totalItemCount: 1, batchExecutionResults: [] })
    });
    render(<ServiceDetail api={api} host={mockHost() as any} settings={DEFAULT_SETTINGS} name="Iris" version="v1" onDeleted={jest.fn()} />);
    await screen.findByText('Iris variety');
    expectEveryControlNamed();
    fireEvent.click(screen.getByRole('button', { name: 'Edit description' }));
    expectEveryControlNamed();
    for (const tab of ['Swagger', 'Try it', 'Batch', 'Code snippets']) {
      fireEvent.click(screen.getByRole('tab', { name: tab }));
      await waitFor(() => expect(screen.getByRole('tab', { name: tab })).toHaveAttribute('aria-selected', 'true'));
      if (tab === 'Swagger') {
        await screen.findAllByText(/\/api\/Iris\/v1/);
      }
      if (tab === 'Batch') {
        fireEvent.change(screen.getByLabelText(/Records/), { target: { value: '[{"flower_data": [1], "k": 1, "label": "a", "strict": true}]' } });
        fireEvent.click(screen.getByRole('button', { name: 'Run batch' }));
        await screen.findByRole('button', { name: 'Cancel the batch' });
      }
      expectEveryControlNamed();
    }
  });
});
