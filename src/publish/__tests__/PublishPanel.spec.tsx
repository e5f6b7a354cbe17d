import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import * as React from 'react';

import { DEFAULT_SETTINGS } from '../../common/settings';
import { mockApi, mockHost } from '../../__tests__/helpers';
import { PublishPanel } from '../PublishPanel';

const selection = { path: 'work/iris.ipynb', kernelId: 'k1', selectedCode: 'iris_type = names[int(clf.predict([flower_data])[0])]' };

const kernel = {
  variables: [
    { name: 'clf', type: 'SVC', size: 2048, picklable: true },
    { name: 'names', type: 'list', size: 120, picklable: true },
    { name: 'stream', type: 'generator', size: 64, picklable: false, reason: 'cannot pickle generator' }
  ],
  functions: [
    {
      name: 'predict_iris',
      signature: '(flower_data: list) -> str',
      parameters: [{ name: 'flower_data', annotation: 'vector', default: null }],
      returns: 'character',
      doc: 'Iris variety'
    }
  ]
};

function setup(apiOverrides = {}, hostOverrides = {}) {
  const api = mockApi({ kernelVariables: jest.fn().mockResolvedValue(kernel), ...apiOverrides });
  const host = mockHost(hostOverrides);
  render(<PublishPanel api={api} host={host as any} settings={DEFAULT_SETTINGS} selection={selection} onRefreshSelection={jest.fn()} pollInterval={1} />);
  return { api, host };
}

describe('PublishPanel', () => {
  it('says what to do when no notebook is open', () => {
    render(<PublishPanel api={mockApi()} host={mockHost() as any} settings={DEFAULT_SETTINGS} selection={null} onRefreshSelection={jest.fn()} />);
    expect(screen.getByText('No notebook is open.')).toBeInTheDocument();
  });

  it('infers inputs, outputs and the kernel objects the code uses', async () => {
    setup();
    await screen.findByRole('table', { name: 'Kernel variables' });
    await waitFor(() => expect(screen.getByLabelText('Inputs 1 name')).toHaveValue('flower_data'));
    expect(screen.getByLabelText('Inputs 1 type')).toHaveValue('vector');
    expect(screen.getByLabelText('Outputs 1 name')).toHaveValue('iris_type');
    expect(screen.getByLabelText('Include clf')).toBeChecked();
    expect(screen.getByLabelText('Include names')).toBeChecked();
    expect(screen.getByLabelText('Include stream')).toBeDisabled();
    expect(screen.getByText(/no: cannot pickle generator/)).toBeInTheDocument();
  });

  it('uses the function signature in function mode', async () => {
    setup();
    await screen.findByRole('table', { name: 'Kernel variables' });
    fireEvent.click(screen.getByLabelText(/A function defined in the kernel/));
    await waitFor(() => expect(screen.getByText(/From the signature predict_iris/)).toBeInTheDocument());
    expect(screen.getByLabelText('Outputs 1 name')).toHaveValue('result');
    expect(screen.getByLabelText('Outputs 1 type')).toHaveValue('str');
  });

  it('suggests the next free version for the name', async () => {
    const { api } = setup({ listServices: jest.fn().mockResolvedValue([{ name: 'Iris', version: 'v1' }, { name: 'Iris', version: 'v2' }]) });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Iris' } });
    await waitFor(() => expect(screen.getByLabelText('Version')).toHaveValue('v3'));
    expect(api.listServices).toHaveBeenCalledWith('Iris');
    expect(screen.getByText('Existing versions: v1, v2')).toBeInTheDocument();
  });

  it('shows validation errors on the fields and does not publish', async () => {
    const { api } = setup();
    await screen.findByRole('table', { name: 'Kernel variables' });
    fireEvent.change(screen.getByLabelText('Inputs 1 name'), { target: { value: 'not valid' } });
    fireEvent.click(screen.getByRole('button', { name: 'Publish' }));
    expect(await screen.findByText('Give the service a name.')).toBeInTheDocument();
    expect(screen.getByText('"not valid" is not a Python variable name.')).toBeInTheDocument();
    expect(screen.getByLabelText('Name')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByLabelText('Name')).toHaveFocus();
    expect(api.publish).not.toHaveBeenCalled();
  });

  it('publishes, shows the steps and ends on the endpoint', async () => {
    const service = { name: 'Iris', version: 'v1', inputParameterDefinitions: [{ name: 'flower_data', type: 'vector' }] };
    const { api, host } = setup({
      publish: jest.fn().mockResolvedValue({ jobId: 'j1' }),
      publishJob: jest
        .fn()
        .mockResolvedValueOnce({
          state: 'running',
          step: 'upload',
          steps: [
            { name: 'capture', state: 'done' },
            { name: 'upload', state: 'running' }
          ],
          bytesUploaded: 1024 * 1024,
          totalBytes: 2 * 1024 * 1024,
          service: null,
          error: null
        })
        .mockResolvedValueOnce({
          state: 'done',
          step: 'cleanup',
          steps: ['capture', 'upload', 'files', 'snapshot', 'publish', 'cleanup'].map(name => ({ name, state: 'done' })),
          bytesUploaded: 2 * 1024 * 1024,
          totalBytes: 2 * 1024 * 1024,
          service,
          error: null
        })
    });
    await screen.findByRole('table', { name: 'Kernel variables' });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Iris' } });
    fireEvent.click(screen.getByRole('button', { name: 'Publish' }));
    expect(await screen.findByText('Published Iris v1.')).toBeInTheDocument();
    expect(api.publish).toHaveBeenCalledWith(
      expect.objectContaining({
        kernelId: 'k1',
        name: 'Iris',
        code: selection.selectedCode,
        inputs: [{ name: 'flower_data', type: 'vector' }],
        variables: ['names', 'clf']
      })
    );
    const steps = screen.getByRole('list', { name: 'Publish progress' });
    expect(within(steps).getAllByRole('listitem')).toHaveLength(6);
    expect(screen.getByText('POST http://localhost:12800/api/Iris/v1')).toBeInTheDocument();
    expect(host.servicesChanged).toHaveBeenCalled();
    fireEvent.click(screen.getByRole('button', { name: 'Insert consume cell' }));
    expect(host.insertConsumeCell).toHaveBeenCalledWith(expect.objectContaining({ name: 'Iris', version: 'v1' }), {});
  });

  it('says which step failed and highlights the field at fault', async () => {
    setup({
      publish: jest.fn().mockResolvedValue({ jobId: 'j1' }),
      publishJob: jest.fn().mockResolvedValue({
        state: 'failed',
        step: 'capture',
        steps: [{ name: 'capture', state: 'failed', detail: 'clf' }],
        bytesUploaded: 0,
        totalBytes: 0,
        service: null,
        error: { step: 'capture', message: 'names cannot be serialized', field: 'variables' }
      })
    });
    await screen.findByRole('table', { name: 'Kernel variables' });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Iris' } });
    fireEvent.click(screen.getByRole('button', { name: 'Publish' }));
    const alert = await screen.findByText(/Publishing failed at step “Capturing the kernel state”/);
    expect(alert.parentElement).toHaveTextContent('names cannot be serialized');
    expect(document.querySelector('[data-field="variables"]')).toHaveClass('o16n-mod-invalid');
  });

  it('tests the code in the kernel and shows the outputs', async () => {
    const runInKernel = jest.fn().mockResolvedValue({ stdout: 'hi\n__o16n_test_result__{"iris_type": "versicolor"}\n', error: null });
    setup({}, { runInKernel });
    await screen.findByRole('table', { name: 'Kernel variables' });
    await waitFor(() => expect(screen.getByLabelText('flower_data')).toBeInTheDocument());
    fireEvent.change(screen.getByLabelText('flower_data'), { target: { value: '[7, 3.2, 4.7, 1.4]' } });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Test' }));
    });
    expect(await screen.findByText('versicolor')).toBeInTheDocument();
    expect(runInKernel.mock.calls[0][0]).toContain('[7,3.2,4.7,1.4]');
  });
});
