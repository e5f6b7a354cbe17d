import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import * as React from 'react';

import { DEFAULT_SETTINGS } from '../../common/settings';
import { mockApi, mockHost } from '../../__tests__/helpers';
import { BatchRuns } from '../batchRuns';
import { ServiceDetail } from '../ServiceDetail';

const iris = {
  name: 'Iris',
  version: 'v1',
  runtimeType: 'Python',
  description: 'Iris variety',
  code: 'iris_type = names[int(clf.predict([flower_data])[0])]',
  inputParameterDefinitions: [{ name: 'flower_data', type: 'vector' }],
  outputParameterDefinitions: [{ name: 'iris_type', type: 'character' }],
  myPermissionOnService: 'read/write'
};

function setup(settings = DEFAULT_SETTINGS, apiOverrides = {}, hostOverrides = {}, batchRuns?: BatchRuns) {
  const api = mockApi({ getService: jest.fn().mockResolvedValue(iris), ...apiOverrides });
  const host = mockHost(hostOverrides);
  const onDeleted = jest.fn();
  const view = render(
    <ServiceDetail api={api} host={host as any} settings={settings} name="Iris" version="v1" onDeleted={onDeleted} batchRuns={batchRuns} batchPollInterval={1} />
  );
  return { api, host, onDeleted, view };
}

describe('ServiceDetail', () => {
  it('shows the description, parameters and code, and edits the description', async () => {
    const { api } = setup(DEFAULT_SETTINGS, { updateDescription: jest.fn().mockResolvedValue({ ...iris, description: 'new text' }) });
    expect(await screen.findByText('Iris variety')).toBeInTheDocument();
    expect(screen.getByText('flower_data')).toBeInTheDocument();
    expect(screen.getByText(iris.code)).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Edit description' }));
    fireEvent.change(screen.getByLabelText('Description'), { target: { value: 'new text' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(api.updateDescription).toHaveBeenCalled());
    expect(await screen.findByText('new text')).toBeInTheDocument();
    expect(api.updateDescription).toHaveBeenCalledWith('Iris', 'v1', 'new text');
  });

  it('tells the catalog after a description edit, so that it shows the new one (#13 item 10)', async () => {
    const { host } = setup(DEFAULT_SETTINGS, { updateDescription: jest.fn().mockResolvedValue({ ...iris, description: 'new text' }) });
    fireEvent.click(await screen.findByRole('button', { name: 'Edit description' }));
    fireEvent.change(screen.getByLabelText('Description'), { target: { value: 'new text' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await screen.findByText('new text');
    expect(host.servicesChanged).toHaveBeenCalled();
  });

  it('shows the endpoint clients call (#13 item 5)', async () => {
    setup();
    await screen.findByText('Iris variety');
    expect(await screen.findByText('POST http://localhost:12800/api/Iris/v1')).toBeInTheDocument();
  });

  it('does not offer editing or deleting to readers', async () => {
    setup(DEFAULT_SETTINGS, { getService: jest.fn().mockResolvedValue({ ...iris, myPermissionOnService: 'read only' }) });
    await screen.findByText('Iris variety');
    expect(screen.queryByRole('button', { name: 'Edit description' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Delete version' })).not.toBeInTheDocument();
  });

  it('tries the service with typed inputs and shows the result', async () => {
    const { api } = setup(DEFAULT_SETTINGS, {
      consume: jest.fn().mockResolvedValue({ success: true, outputParameters: { iris_type: 'versicolor' }, consoleOutput: '', elapsed: 0.012 })
    });
    await screen.findByText('Iris variety');
    fireEvent.click(screen.getByRole('tab', { name: 'Try it' }));
    fireEvent.change(screen.getByLabelText(/flower_data/), { target: { value: '[7, 3.2, 4.7, 1.4]' } });
    fireEvent.click(screen.getByRole('button', { name: 'Consume' }));
    expect(await screen.findByText('versicolor')).toBeInTheDocument();
    expect(screen.getByText('12 ms')).toBeInTheDocument();
    expect(api.consume).toHaveBeenCalledWith('Iris', 'v1', { flower_data: [7, 3.2, 4.7, 1.4] });
  });

  it('refuses a vector that is not a list before calling the service (#13 item 9)', async () => {
    const { api } = setup();
    await screen.findByText('Iris variety');
    fireEvent.click(screen.getByRole('tab', { name: 'Try it' }));
    fireEvent.change(screen.getByLabelText(/flower_data/), { target: { value: 'abc' } });
    fireEvent.click(screen.getByRole('button', { name: 'Consume' }));
    expect(await screen.findByText(/"abc" is not a list/)).toBeInTheDocument();
    expect(screen.getByLabelText(/flower_data/)).toHaveAttribute('aria-invalid', 'true');
    expect(api.consume).not.toHaveBeenCalled();
  });

  it('quotes the text typed in a number field in its error (#13 item 9)', async () => {
    const { api } = setup(DEFAULT_SETTINGS, {
      getService: jest.fn().mockResolvedValue({ ...iris, inputParameterDefinitions: [{ name: 'sepal_length', type: 'numeric' }] })
    });
    await screen.findByText('Iris variety');
    fireEvent.click(screen.getByRole('tab', { name: 'Try it' }));
    fireEvent.change(screen.getByLabelText(/sepal_length/), { target: { value: 'abc' } });
    fireEvent.click(screen.getByRole('button', { name: 'Consume' }));
    expect(await screen.findByText('"abc" is not a number')).toBeInTheDocument();
    expect(api.consume).not.toHaveBeenCalled();
  });

  it('gives two open services\' inputs of the same name different ids (#13 item 9)', async () => {
    const api = mockApi({ getService: jest.fn().mockResolvedValue(iris) });
    const host = mockHost();
    render(
      <>
        <ServiceDetail api={api} host={host as any} settings={DEFAULT_SETTINGS} name="Iris" version="v1" onDeleted={jest.fn()} initialTab="try" />
        <ServiceDetail api={api} host={host as any} settings={DEFAULT_SETTINGS} name="Iris" version="v2" onDeleted={jest.fn()} initialTab="try" />
      </>
    );
    const fields = await screen.findAllByLabelText(/flower_data/);
    expect(fields).toHaveLength(2);
    expect(fields[0].id).not.toBe(fields[1].id);
    const labels = document.querySelectorAll('label');
    const targets = Array.from(labels).map(l => document.getElementById(l.htmlFor));
    expect(targets.filter(t => t === fields[0])).toHaveLength(1);
    expect(targets.filter(t => t === fields[1])).toHaveLength(1);
  });

  it('shows the swagger operations', async () => {
    setup(DEFAULT_SETTINGS, {
      swagger: jest.fn().mockResolvedValue({
        swagger: '2.0',
        info: { title: 'Iris', version: 'v1' },
        paths: { '/api/Iris/v1': { post: { operationId: 'predict_iris', parameters: [], responses: { '200': { description: 'OK' } } } } }
      })
    });
    await screen.findByText('Iris variety');
    fireEvent.click(screen.getByRole('tab', { name: 'Swagger' }));
    expect(await screen.findByText('predict_iris')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Download swagger.json' })).toBeInTheDocument();
  });

  it('runs a batch and shows progress and results', async () => {
    const { api } = setup(DEFAULT_SETTINGS, {
      startBatch: jest.fn().mockResolvedValue({ executionId: 'e1' }),
      batchStatus: jest.fn().mockResolvedValue({
        state: 'Complete',
        completedItemCount: 2,
        totalItemCount: 2,
        batchExecutionResults: [
          { success: true, outputParameters: { iris_type: 'setosa' } },
          { success: true, outputParameters: { iris_type: 'virginica' } }
        ]
      })
    });
    await screen.findByText('Iris variety');
    fireEvent.click(screen.getByRole('tab', { name: 'Batch' }));
    fireEvent.change(screen.getByLabelText(/Records/), { target: { value: '[{"flower_data": [5.1, 3.5, 1.4, 0.2]}, {"flower_data": [7, 3, 6, 2]}]' } });
    fireEvent.click(screen.getByRole('button', { name: 'Run batch' }));
    expect(await screen.findByText('virginica')).toBeInTheDocument();
    expect(api.startBatch).toHaveBeenCalledWith('Iris', 'v1', expect.any(Array), 10);
    expect(screen.getByLabelText('Batch progress')).toHaveAttribute('value', '2');
  });

  it('shows partial batch results, with null for the items not finished (#13 item 1)', async () => {
    const records = Array.from({ length: 6 }, (_, i) => ({ flower_data: [5 + i / 10, 3, 1.4, 0.2] }));
    const partial = (done: number, state: string) => ({
      state,
      completedItemCount: done,
      totalItemCount: 6,
      batchExecutionResults: records.map((_, i) => (i < done ? { success: true, outputParameters: { iris_type: `type${i}` } } : null))
    });
    setup(DEFAULT_SETTINGS, {
      startBatch: jest.fn().mockResolvedValue({ executionId: 'e1' }),
      batchStatus: jest.fn().mockResolvedValueOnce(partial(2, 'InProgress')).mockResolvedValue(partial(6, 'Complete'))
    });
    await screen.findByText('Iris variety');
    fireEvent.click(screen.getByRole('tab', { name: 'Batch' }));
    fireEvent.change(screen.getByLabelText(/Records/), { target: { value: JSON.stringify(records) } });
    fireEvent.click(screen.getByRole('button', { name: 'Run batch' }));
    expect(await screen.findByText('type5')).toBeInTheDocument();
    const rows = within(screen.getByRole('table', { name: 'Batch results' })).getAllByRole('row');
    expect(rows).toHaveLength(7);
    expect(screen.getByText('6 / 6 · Complete')).toBeInTheDocument();
  });

  it('renders an in-progress batch whose results are partly null', async () => {
    setup(DEFAULT_SETTINGS, {
      startBatch: jest.fn().mockResolvedValue({ executionId: 'e1' }),
      batchStatus: jest.fn().mockResolvedValue({
        state: 'InProgress',
        completedItemCount: 1,
        totalItemCount: 3,
        batchExecutionResults: [{ success: true, outputParameters: { iris_type: 'setosa' } }, null, null]
      })
    });
    await screen.findByText('Iris variety');
    fireEvent.click(screen.getByRole('tab', { name: 'Batch' }));
    fireEvent.change(screen.getByLabelText(/Records/), { target: { value: '[{"flower_data": [1]}, {"flower_data": [2]}, {"flower_data": [3]}]' } });
    fireEvent.click(screen.getByRole('button', { name: 'Run batch' }));
    expect(await screen.findByText('setosa')).toBeInTheDocument();
    expect(screen.getAllByText('pending')).toHaveLength(2);
  });

  it('keeps the batch results when the view is closed and reopened (#13 item 1)', async () => {
    const runs = new BatchRuns();
    const done = {
      state: 'Complete',
      completedItemCount: 1,
      totalItemCount: 1,
      batchExecutionResults: [{ success: true, outputParameters: { iris_type: 'virginica' } }]
    };
    const first = setup(DEFAULT_SETTINGS, { startBatch: jest.fn().mockResolvedValue({ executionId: 'e1' }), batchStatus: jest.fn().mockResolvedValue(done) }, {}, runs);
    await screen.findByText('Iris variety');
    fireEvent.click(screen.getByRole('tab', { name: 'Batch' }));
    fireEvent.change(screen.getByLabelText(/Records/), { target: { value: '[{"flower_data": [7, 3, 6, 2]}]' } });
    fireEvent.click(screen.getByRole('button', { name: 'Run batch' }));
    expect(await screen.findByText('virginica')).toBeInTheDocument();
    // switching tabs and back keeps them
    fireEvent.click(screen.getByRole('tab', { name: 'Overview' }));
    fireEvent.click(screen.getByRole('tab', { name: 'Batch' }));
    expect(screen.getByText('virginica')).toBeInTheDocument();
    first.view.unmount();
    setup(DEFAULT_SETTINGS, {}, {}, runs);
    await screen.findByText('Iris variety');
    fireEvent.click(screen.getByRole('tab', { name: 'Batch' }));
    expect(screen.getByText('virginica')).toBeInTheDocument();
    expect(screen.getByLabelText(/Records/)).toHaveValue('[{"flower_data": [7, 3, 6, 2]}]');
  });

  it('cancels a running batch through the API and shows it as cancelled', async () => {
    const running = {
      state: 'InProgress',
      completedItemCount: 1,
      totalItemCount: 3,
      batchExecutionResults: [{ success: true, outputParameters: { iris_type: 'setosa' } }]
    };
    const { api } = setup(DEFAULT_SETTINGS, {
      startBatch: jest.fn().mockResolvedValue({ executionId: 'e1' }),
      batchStatus: jest.fn().mockResolvedValue(running),
      cancelBatch: jest.fn().mockResolvedValue({ deleted: true })
    });
    await screen.findByText('Iris variety');
    fireEvent.click(screen.getByRole('tab', { name: 'Batch' }));
    expect(screen.queryByRole('button', { name: 'Cancel the batch' })).not.toBeInTheDocument();
    fireEvent.change(screen.getByLabelText(/Records/), { target: { value: '[{"flower_data": [1]}, {"flower_data": [2]}, {"flower_data": [3]}]' } });
    fireEvent.click(screen.getByRole('button', { name: 'Run batch' }));
    const cancel = await screen.findByRole('button', { name: 'Cancel the batch' });
    expect(screen.getByRole('button', { name: 'Run batch' })).toBeDisabled();
    await screen.findByText('1 / 3 · InProgress');
    fireEvent.click(cancel);
    await waitFor(() => expect(api.cancelBatch).toHaveBeenCalledWith('Iris', 'v1', 'e1'));
    expect(await screen.findByText('1 / 3 · Cancelled')).toBeInTheDocument();
    expect(screen.getByText(/Batch cancelled/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Cancel the batch' })).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Run batch' })).toBeEnabled();
    // polling stopped
    const polls = api.batchStatus.mock.calls.length;
    await new Promise(r => setTimeout(r, 30));
    expect(api.batchStatus.mock.calls.length).toBe(polls);
  });

  it('says when cancelling fails and keeps the batch running', async () => {
    setup(DEFAULT_SETTINGS, {
      startBatch: jest.fn().mockResolvedValue({ executionId: 'e1' }),
      batchStatus: jest.fn().mockResolvedValue({ state: 'InProgress', completedItemCount: 0, totalItemCount: 1, batchExecutionResults: [] }),
      cancelBatch: jest.fn().mockRejectedValue(new Error('no such execution'))
    });
    await screen.findByText('Iris variety');
    fireEvent.click(screen.getByRole('tab', { name: 'Batch' }));
    fireEvent.change(screen.getByLabelText(/Records/), { target: { value: '[{"flower_data": [1]}]' } });
    fireEvent.click(screen.getByRole('button', { name: 'Run batch' }));
    fireEvent.click(await screen.findByRole('button', { name: 'Cancel the batch' }));
    expect(await screen.findByText('Could not cancel the batch: no such execution')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Cancel the batch' })).toBeEnabled();
  });

  it('shows snippets unless the setting hides them', async () => {
    setup();
    await screen.findByText('Iris variety');
    fireEvent.click(screen.getByRole('tab', { name: 'Code snippets' }));
    expect(screen.getByLabelText('Python (o16n client) snippet')).toHaveTextContent('client.get_service("Iris", "v1")');
    fireEvent.click(screen.getByRole('tab', { name: 'curl' }));
    expect(screen.getByLabelText('curl snippet')).toHaveTextContent('http://localhost:12800/api/Iris/v1');
  });

  it('says in the snippets where the embedded server\'s admin password is (#13 item 10)', async () => {
    setup(DEFAULT_SETTINGS, {
      status: jest.fn().mockResolvedValue({
        connected: true,
        mode: 'embedded',
        url: 'http://127.0.0.1:41837',
        user: { name: 'admin', role: 'Owner' },
        server: {},
        message: null,
        embedded: { port: 41837, passwordFile: '/home/ann/.local/share/jupyter/o16n/admin-password' }
      })
    });
    await screen.findByText('Iris variety');
    fireEvent.click(screen.getByRole('tab', { name: 'Code snippets' }));
    for (const tab of ['Python (o16n client)', 'Python (requests)', 'curl', 'TypeScript (fetch)']) {
      fireEvent.click(screen.getByRole('tab', { name: tab }));
      expect(screen.getByLabelText(`${tab} snippet`)).toHaveTextContent('/home/ann/.local/share/jupyter/o16n/admin-password');
    }
    fireEvent.click(screen.getByRole('tab', { name: 'curl' }));
    expect(screen.getByLabelText('curl snippet')).toHaveTextContent('http://127.0.0.1:41837/api/Iris/v1');
  });

  it('hides snippets when the setting says so', async () => {
    setup({ ...DEFAULT_SETTINGS, showCodeSnippets: false });
    await screen.findByText('Iris variety');
    expect(screen.queryByRole('tab', { name: 'Code snippets' })).not.toBeInTheDocument();
  });

  it('asks before deleting, and deletes', async () => {
    const { api, host, onDeleted } = setup();
    await screen.findByText('Iris variety');
    fireEvent.click(screen.getByRole('button', { name: 'Delete version' }));
    await waitFor(() => expect(onDeleted).toHaveBeenCalled());
    expect(host.confirm).toHaveBeenCalled();
    expect(api.deleteService).toHaveBeenCalledWith('Iris', 'v1');
    expect(host.servicesChanged).toHaveBeenCalled();
  });

  it('keeps the version when the user cancels, and skips asking when the setting says so', async () => {
    const { api } = setup(DEFAULT_SETTINGS, {}, { confirm: jest.fn().mockResolvedValue(false) });
    await screen.findByText('Iris variety');
    fireEvent.click(screen.getByRole('button', { name: 'Delete version' }));
    await waitFor(() => expect(api.deleteService).not.toHaveBeenCalled());
  });

  it('deletes without asking when askBeforeDelete is off', async () => {
    const { api, host } = setup({ ...DEFAULT_SETTINGS, askBeforeDelete: false });
    await screen.findByText('Iris variety');
    fireEvent.click(screen.getByRole('button', { name: 'Delete version' }));
    await waitFor(() => expect(api.deleteService).toHaveBeenCalled());
    expect(host.confirm).not.toHaveBeenCalled();
  });
});
