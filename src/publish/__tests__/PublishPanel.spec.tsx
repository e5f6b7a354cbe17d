import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import * as React from 'react';

import { DEFAULT_SETTINGS } from '../../common/settings';
import { mockApi, mockHost } from '../../__tests__/helpers';
import { O16nApiError } from '../../api/client';
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
      parameters: [{ name: 'flower_data', annotation: 'vector', default: null, kind: 'POSITIONAL_OR_KEYWORD', pythonType: 'list' }],
      returns: 'character',
      pythonReturns: 'str',
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
  const doneJob = (extra = {}) => ({
    jobId: 'j1',
    state: 'done',
    step: 'cleanup',
    steps: [
      { name: 'capture', state: 'done', detail: 'stream not captured' },
      { name: 'upload', state: 'done' },
      { name: 'files', state: 'skipped' },
      { name: 'snapshot', state: 'done' },
      { name: 'publish', state: 'done' },
      { name: 'cleanup', state: 'done' }
    ],
    bytesUploaded: 10,
    totalBytes: 10,
    service: { name: 'Iris', version: 'v1' },
    error: null,
    notCaptured: {},
    elapsed: 2.5,
    ...extra
  });

  async function publishIris() {
    await screen.findByRole('table', { name: 'Kernel variables' });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Iris' } });
    fireEvent.click(screen.getByRole('button', { name: 'Publish' }));
  }

  it('lists the variables that could not be shipped, each with its reason, and shows skipped steps', async () => {
    setup({
      publish: jest.fn().mockResolvedValue({ jobId: 'j1' }),
      publishJob: jest.fn().mockResolvedValue(
        doneJob({ notCaptured: { stream: 'cannot pickle generator', lock: "cannot pickle '_thread.lock' object" } })
      )
    });
    await publishIris();
    expect(await screen.findByText('Published Iris v1.')).toBeInTheDocument();
    expect(screen.getByText('(2.5 s)')).toBeInTheDocument();
    const list = screen.getByRole('list', { name: 'Variables not shipped' });
    const items = within(list).getAllByRole('listitem').map(li => li.textContent);
    expect(items).toEqual(['stream: cannot pickle generator', "lock: cannot pickle '_thread.lock' object"]);
    expect(screen.getByText(/2 variables were/)).toBeInTheDocument();
    const files = within(screen.getByRole('list', { name: 'Publish progress' })).getByText('Uploading files').closest('li');
    expect(files).toHaveAttribute('data-state', 'skipped');
    expect(files).toHaveTextContent('skipped');
  });

  it('shows no warning when every variable was shipped', async () => {
    setup({ publish: jest.fn().mockResolvedValue({ jobId: 'j1' }), publishJob: jest.fn().mockResolvedValue(doneJob()) });
    await publishIris();
    await screen.findByText('Published Iris v1.');
    expect(screen.queryByRole('list', { name: 'Variables not shipped' })).not.toBeInTheDocument();
  });

  it('sends the operation id, and refuses one that is not a Python identifier', async () => {
    const { api } = setup({ publish: jest.fn().mockResolvedValue({ jobId: 'j1' }), publishJob: jest.fn().mockResolvedValue(doneJob()) });
    await screen.findByRole('table', { name: 'Kernel variables' });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Iris' } });
    const field = screen.getByLabelText('Operation id (optional)');
    fireEvent.change(field, { target: { value: 'predict-iris' } });
    fireEvent.click(screen.getByRole('button', { name: 'Publish' }));
    expect(await screen.findByText(/"predict-iris" is not a Python identifier/)).toBeInTheDocument();
    expect(field).toHaveAttribute('aria-invalid', 'true');
    expect(field).toHaveFocus();
    expect(api.publish).not.toHaveBeenCalled();
    fireEvent.change(field, { target: { value: 'predict_iris' } });
    fireEvent.click(screen.getByRole('button', { name: 'Publish' }));
    await screen.findByText('Published Iris v1.');
    expect(api.publish).toHaveBeenCalledWith(expect.objectContaining({ operationId: 'predict_iris' }));
  });

  it('lets the server choose the version when the field is emptied', async () => {
    const { api } = setup({
      publish: jest.fn().mockResolvedValue({ jobId: 'j1' }),
      publishJob: jest.fn().mockResolvedValue(doneJob({ service: { name: 'Iris', version: '3f2a-uuid' } }))
    });
    await screen.findByRole('table', { name: 'Kernel variables' });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Iris' } });
    fireEvent.change(screen.getByLabelText('Version'), { target: { value: '' } });
    expect(screen.getByText('Empty: the o16n server generates a version.')).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Publish' }));
    expect(await screen.findByText('Published Iris 3f2a-uuid.')).toBeInTheDocument();
    expect(api.publish.mock.calls[0][0]).not.toHaveProperty('version');
  });

  it('says when o16n is not connected, with the status message', async () => {
    setup({
      status: jest.fn().mockResolvedValue({
        connected: false,
        mode: 'remote',
        url: 'https://o16n.example',
        user: null,
        server: null,
        message: 'not logged in'
      })
    });
    const notice = await screen.findByText('Not connected to o16n:');
    expect(notice.parentElement).toHaveTextContent('not logged in');
    expect(notice.parentElement).toHaveTextContent('Log in from the Web services panel');
  });

  it('explains a 401 from publishing: nobody is logged in to o16n', async () => {
    setup({ publish: jest.fn().mockRejectedValue(new O16nApiError('not logged in to https://o16n.example', 401)) });
    await publishIris();
    const alert = await screen.findByText(/Publishing failed/);
    expect(alert.parentElement).toHaveTextContent('not logged in to https://o16n.example');
    expect(alert.parentElement).toHaveTextContent(/log in from the Web services panel/);
  });

  it('runs a function with positional-only parameters by position in the test', async () => {
    const runInKernel = jest.fn().mockResolvedValue({ stdout: '__o16n_test_result__{"result": 1}\n', error: null });
    const positional = {
      variables: [],
      functions: [
        {
          name: 'f',
          signature: '(x, /)',
          parameters: [{ name: 'x', annotation: 'numeric', default: null, kind: 'POSITIONAL_ONLY', pythonType: 'float' }],
          returns: null,
          pythonReturns: null,
          doc: null
        }
      ]
    };
    setup({ kernelVariables: jest.fn().mockResolvedValue(positional) }, { runInKernel });
    await waitFor(() => expect(screen.getByLabelText(/A function defined in the kernel/)).toBeEnabled());
    fireEvent.click(screen.getByLabelText(/A function defined in the kernel/));
    await waitFor(() => expect(screen.getByLabelText('Inputs 1 name')).toHaveValue('x'));
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Test' }));
    });
    expect(runInKernel.mock.calls[0][0]).toContain('_json.loads("[\\"x\\"]")');
  });
});
