import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import * as React from 'react';

import { DEFAULT_SETTINGS } from '../../common/settings';
import { mockApi, mockHost } from '../../__tests__/helpers';
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

function setup(settings = DEFAULT_SETTINGS, apiOverrides = {}, hostOverrides = {}) {
  const api = mockApi({ getService: jest.fn().mockResolvedValue(iris), ...apiOverrides });
  const host = mockHost(hostOverrides);
  const onDeleted = jest.fn();
  render(<ServiceDetail api={api} host={host as any} settings={settings} name="Iris" version="v1" onDeleted={onDeleted} />);
  return { api, host, onDeleted };
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
