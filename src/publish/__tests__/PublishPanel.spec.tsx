import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import * as React from 'react';

import { DEFAULT_SETTINGS } from '../../common/settings';
import { mockApi, mockHost } from '../../__tests__/helpers';
import { O16nApiError } from '../../api/client';
import { IPublishPanelProps, PublishPanel } from '../PublishPanel';

const selection = { path: 'work/iris.ipynb', kernelId: 'k1', selectedCode: 'iris_type = names[int(clf.predict([flower_data])[0])]' };

const predictIris = {
  name: 'predict_iris',
  signature: 'predict_iris(flower_data: list) -> str',
  parameters: [{ name: 'flower_data', annotation: 'vector', default: null, kind: 'POSITIONAL_OR_KEYWORD', pythonType: 'list' }],
  returns: 'character',
  pythonReturns: 'str',
  doc: 'Iris variety'
};

const kernel = {
  objects: [
    { name: 'clf', type: 'SVC', size: 2048, picklable: true },
    { name: 'names', type: 'list', size: 120, picklable: true },
    { name: 'stream', type: 'generator', size: 64, picklable: false, reason: 'cannot pickle generator' }
  ],
  functions: [predictIris]
};

/** What the relay's analyze answers: for the cell code, and for predict_iris. */
function analyze(_kernelId: string, body: { code?: string; functionName?: string }) {
  if (body.functionName) {
    return Promise.resolve({
      inputs: [{ name: 'flower_data', type: 'vector', reason: 'annotation list' }],
      outputs: [{ name: 'result', type: 'character', reason: 'return annotation str' }],
      objects: [{ name: 'clf', reason: 'used by predict_iris' }],
      function: predictIris
    });
  }
  return Promise.resolve({
    inputs: [{ name: 'flower_data', type: 'vector', reason: 'read before assigned' }],
    outputs: [{ name: 'iris_type', type: 'character', reason: 'names holds str' }],
    objects: [
      { name: 'clf', reason: 'read by the code' },
      { name: 'names', reason: 'read by the code' }
    ],
    function: null
  });
}

function props(api: ReturnType<typeof mockApi>, host: ReturnType<typeof mockHost>, extra: Partial<IPublishPanelProps> = {}): IPublishPanelProps {
  return {
    api,
    host: host as any,
    settings: DEFAULT_SETTINGS,
    selection,
    onRefreshSelection: jest.fn(),
    pollInterval: 1,
    analysisDelay: 0,
    ...extra
  };
}

function setup(apiOverrides = {}, hostOverrides = {}, extra: Partial<IPublishPanelProps> = {}) {
  const api = mockApi({ kernelNamespace: jest.fn().mockResolvedValue(kernel), analyze: jest.fn(analyze), ...apiOverrides });
  const host = mockHost(hostOverrides);
  const view = render(<PublishPanel {...props(api, host, extra)} />);
  const rerender = (more: Partial<IPublishPanelProps>) => view.rerender(<PublishPanel {...props(api, host, { ...extra, ...more })} />);
  return { api, host, rerender };
}

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

const failedJob = (error: Record<string, unknown>) => ({
  ...doneJob(),
  state: 'failed',
  step: error.step ?? 'publish',
  service: null,
  error: { step: 'publish', field: null, status: 400, ...error }
});

async function analyzed() {
  await screen.findByRole('table', { name: 'Kernel objects' });
  await waitFor(() => expect(screen.getByLabelText('Inputs 1 name')).toHaveValue('flower_data'));
}

async function publishIris() {
  await analyzed();
  fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Iris' } });
  fireEvent.click(screen.getByRole('button', { name: 'Publish' }));
}

describe('PublishPanel', () => {
  it('says what to do when no notebook is open', () => {
    render(<PublishPanel api={mockApi()} host={mockHost() as any} settings={DEFAULT_SETTINGS} selection={null} onRefreshSelection={jest.fn()} />);
    expect(screen.getByText('No notebook is open.')).toBeInTheDocument();
  });

  it('infers inputs, outputs and the kernel objects the code uses (from the kernel\'s analysis)', async () => {
    const { api } = setup();
    await analyzed();
    expect(api.analyze).toHaveBeenCalledWith('k1', { code: selection.selectedCode });
    expect(screen.getByLabelText('Inputs 1 type')).toHaveValue('vector');
    expect(screen.getByLabelText('Outputs 1 name')).toHaveValue('iris_type');
    // #13 item 8: iris_type is a str (names holds strings), not a float
    expect(screen.getByLabelText('Outputs 1 type')).toHaveValue('character');
    expect(screen.getByLabelText('Include clf')).toBeChecked();
    expect(screen.getByLabelText('Include names')).toBeChecked();
    expect(screen.getByLabelText('Include stream')).toBeDisabled();
    expect(screen.getByText(/no: cannot pickle generator/)).toBeInTheDocument();
  });

  it('uses the function signature in function mode', async () => {
    setup();
    await analyzed();
    fireEvent.click(screen.getByLabelText(/A function defined in the kernel/));
    await waitFor(() => expect(screen.getByText(/From the signature predict_iris/)).toBeInTheDocument());
    expect(screen.getByLabelText('Outputs 1 name')).toHaveValue('result');
    expect(screen.getByLabelText('Outputs 1 type')).toHaveValue('character');
  });

  it('lists a kernel function once and ticks the objects it uses, saying why (#13 item 2)', async () => {
    setup();
    await analyzed();
    fireEvent.click(screen.getByLabelText(/A function defined in the kernel/));
    await screen.findByText(/From the signature predict_iris/);
    const option = within(screen.getByLabelText('Function')).getByRole('option');
    expect(option).toHaveTextContent(/^predict_iris\(flower_data: list\) -> str$/);
    expect(screen.getByLabelText('Include clf')).toBeChecked();
    expect(screen.getByLabelText('Include names')).not.toBeChecked();
    expect(screen.getByText('used by predict_iris')).toBeInTheDocument();
  });

  it('suggests the next free version for the name', async () => {
    const { api } = setup({ listServices: jest.fn().mockResolvedValue([{ name: 'Iris', version: 'v1' }, { name: 'Iris', version: 'v2' }]) });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Iris' } });
    await waitFor(() => expect(screen.getByLabelText('Version')).toHaveValue('v3'));
    expect(api.listServices).toHaveBeenCalledWith('Iris');
    expect(screen.getByText('Existing versions: v1, v2')).toBeInTheDocument();
  });

  it('leaves no stale version text when the name becomes invalid (#13 item 8)', async () => {
    setup({ listServices: jest.fn().mockResolvedValue([{ name: 'Iris', version: 'v1' }]) });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Iris' } });
    await waitFor(() => expect(screen.getByLabelText('Version')).toHaveValue('v2'));
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Iris v2' } });
    expect(screen.getByLabelText('Version')).toHaveValue('v1');
    expect(screen.queryByText(/Existing versions/)).not.toBeInTheDocument();
    expect(screen.queryByText('First version of this service.')).not.toBeInTheDocument();
    expect(screen.getByText(/^Name must start with a letter or digit/)).toBeInTheDocument();
  });

  it('shows validation errors on the fields and does not publish', async () => {
    const { api } = setup();
    await analyzed();
    fireEvent.change(screen.getByLabelText('Inputs 1 name'), { target: { value: 'not valid' } });
    fireEvent.click(screen.getByRole('button', { name: 'Publish' }));
    expect(await screen.findByText('Give the service a name.')).toBeInTheDocument();
    expect(screen.getByText('"not valid" is not a Python variable name.')).toBeInTheDocument();
    expect(screen.getByLabelText('Name')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByLabelText('Name')).toHaveFocus();
    expect(api.publish).not.toHaveBeenCalled();
    // editing the field takes its error away
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Iris' } });
    expect(screen.queryByText('Give the service a name.')).not.toBeInTheDocument();
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
    await publishIris();
    expect(await screen.findByText('Published Iris v1.')).toBeInTheDocument();
    expect(api.publish).toHaveBeenCalledWith(
      expect.objectContaining({
        kernelId: 'k1',
        name: 'Iris',
        code: selection.selectedCode,
        inputs: [{ name: 'flower_data', type: 'vector' }],
        objects: ['clf', 'names'],
        notebook: 'work/iris.ipynb'
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
        error: { step: 'capture', message: 'names cannot be serialized', field: 'objects' }
      })
    });
    await publishIris();
    const alert = await screen.findByText(/Publishing failed at step “Capturing the kernel state”/);
    expect(alert.parentElement).toHaveTextContent('names cannot be serialized');
    expect(document.querySelector('[data-field="objects"]')).toHaveClass('o16n-mod-invalid');
  });

  it('highlights the field of a server-side error, whatever name the server gave it (defect 3 of #12)', async () => {
    setup({
      publish: jest.fn().mockResolvedValue({ jobId: 'j1' }),
      publishJob: jest.fn().mockResolvedValue(failedJob({ message: "unknown type 'tuple'", field: 'inputParameterDefinitions[0].type' }))
    });
    await publishIris();
    expect(await screen.findAllByText("unknown type 'tuple'")).toHaveLength(2); // the failure, and next to the row
    expect(screen.getByLabelText('Inputs 1 name')).toHaveAttribute('aria-invalid', 'true');
    await waitFor(() => expect(screen.getByLabelText('Inputs 1 name')).toHaveFocus());
  });

  it('highlights the field of a relay error on the POST (a 400 naming it)', async () => {
    setup({ publish: jest.fn().mockRejectedValue(new O16nApiError('files: ../secret is outside the root', 400, 'files')) });
    await publishIris();
    expect(await screen.findByText(/Publishing failed/)).toBeInTheDocument();
    expect(document.querySelector('[data-field="files"]')).toHaveClass('o16n-mod-invalid');
  });

  it('tests the code in the kernel through the relay and shows the outputs', async () => {
    const testInKernel = jest.fn().mockResolvedValue({ success: true, outputs: { iris_type: 'versicolor' }, consoleOutput: 'hi', errorMessage: null, elapsed: 0.1 });
    const { api } = setup({ testInKernel });
    await analyzed();
    fireEvent.change(screen.getByLabelText('flower_data'), { target: { value: '[7, 3.2, 4.7, 1.4]' } });
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Test' }));
    });
    expect(await screen.findByText('versicolor')).toBeInTheDocument();
    expect(api.testInKernel).toHaveBeenCalledWith('k1', {
      code: selection.selectedCode,
      inputs: [{ name: 'flower_data', type: 'vector', value: [7, 3.2, 4.7, 1.4] }],
      outputs: [{ name: 'iris_type', type: 'character' }]
    });
  });

  it('tests a function by name: the relay binds the inputs as the service will', async () => {
    const { api } = setup();
    await analyzed();
    fireEvent.click(screen.getByLabelText(/A function defined in the kernel/));
    await screen.findByText(/From the signature predict_iris/);
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Test' }));
    });
    expect(api.testInKernel).toHaveBeenCalledWith('k1', expect.objectContaining({ functionName: 'predict_iris', inputs: [{ name: 'flower_data', type: 'vector', value: [1, 2, 3] }] }));
    expect(api.testInKernel.mock.calls[0][1]).not.toHaveProperty('code');
  });

  it('drops an old test result when the code changes (#13 item 8)', async () => {
    setup({ testInKernel: jest.fn().mockResolvedValue({ success: true, outputs: { iris_type: 'versicolor' }, consoleOutput: '', errorMessage: null, elapsed: 0.1 }) });
    await analyzed();
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Test' }));
    });
    expect(await screen.findByText('versicolor')).toBeInTheDocument();
    fireEvent.change(screen.getByLabelText('Code'), { target: { value: 'iris_type = "setosa"' } });
    expect(screen.queryByText('versicolor')).not.toBeInTheDocument();
  });

  it('asks the analysis again with the objects the user ticked: an unticked value becomes an input', async () => {
    const { api } = setup();
    await analyzed();
    fireEvent.click(screen.getByLabelText('Include names'));
    await waitFor(() => expect(api.analyze).toHaveBeenLastCalledWith('k1', { code: selection.selectedCode, objects: ['clf'] }));
  });

  it('shows the analysis\' notes on the code', async () => {
    setup({
      analyze: jest.fn().mockResolvedValue({
        inputs: [],
        outputs: [{ name: 'y', type: 'numeric', reason: null }],
        objects: [],
        notes: [{ name: 'np', reason: 'a module: import it in the service code' }],
        function: null
      })
    });
    expect(await screen.findByText(/a module: import it in the service code/)).toBeInTheDocument();
  });

  it('warns when publishing after a failed test (#13 item 10)', async () => {
    const { api, host } = setup(
      { testInKernel: jest.fn().mockResolvedValue({ success: false, outputs: {}, consoleOutput: '', errorMessage: "NameError: name 'clf' is not defined", elapsed: 0.1 }) },
      { confirm: jest.fn().mockResolvedValue(false) }
    );
    await analyzed();
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: 'Test' }));
    });
    expect(await screen.findByText(/name 'clf' is not defined/)).toBeInTheDocument();
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Iris' } });
    fireEvent.click(screen.getByRole('button', { name: 'Publish' }));
    await waitFor(() => expect(host.confirm).toHaveBeenCalledWith('The last test failed', expect.stringContaining("name 'clf' is not defined"), 'Publish anyway'));
    expect(api.publish).not.toHaveBeenCalled();
  });

  it('lists the objects that could not be shipped, each with its reason, and shows skipped steps', async () => {
    setup({
      publish: jest.fn().mockResolvedValue({ jobId: 'j1' }),
      publishJob: jest.fn().mockResolvedValue(
        doneJob({ notCaptured: { stream: 'cannot pickle generator', lock: "cannot pickle '_thread.lock' object" } })
      )
    });
    await publishIris();
    expect(await screen.findByText('Published Iris v1.')).toBeInTheDocument();
    expect(screen.getByText('(2.5 s)')).toBeInTheDocument();
    const list = screen.getByRole('list', { name: 'Objects not shipped' });
    const items = within(list).getAllByRole('listitem').map(li => li.textContent);
    expect(items).toEqual(['stream: cannot pickle generator', "lock: cannot pickle '_thread.lock' object"]);
    expect(screen.getByText(/2 objects were/)).toBeInTheDocument();
    const files = within(screen.getByRole('list', { name: 'Publish progress' })).getByText('Uploading files').closest('li');
    expect(files).toHaveAttribute('data-state', 'skipped');
    expect(files).toHaveTextContent('skipped');
  });

  it('shows no warning when every object was shipped', async () => {
    setup({ publish: jest.fn().mockResolvedValue({ jobId: 'j1' }), publishJob: jest.fn().mockResolvedValue(doneJob()) });
    await publishIris();
    await screen.findByText('Published Iris v1.');
    expect(screen.queryByRole('list', { name: 'Objects not shipped' })).not.toBeInTheDocument();
  });

  it('sends the operation id, and refuses one that is not a Python identifier', async () => {
    const { api } = setup({ publish: jest.fn().mockResolvedValue({ jobId: 'j1' }), publishJob: jest.fn().mockResolvedValue(doneJob()) });
    await analyzed();
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
    await analyzed();
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
});

describe('PublishPanel follows the kernel and the notebook (#13 items 3 and 8)', () => {
  it('reads the kernel again on a new kernel epoch: a function defined later appears', async () => {
    const kernelNamespace = jest
      .fn()
      .mockResolvedValueOnce({ objects: kernel.objects, functions: [] })
      .mockResolvedValue(kernel);
    const { rerender } = setup({ kernelNamespace }, {}, { kernelEpoch: 0 });
    expect(await screen.findByText(/A function defined in the kernel \(none found\)/)).toBeInTheDocument();
    rerender({ kernelEpoch: 1 }); // a cell finished executing
    await waitFor(() => expect(screen.getByLabelText(/A function defined in the kernel/)).toBeEnabled());
    expect(screen.queryByText(/none found/)).not.toBeInTheDocument();
    expect(kernelNamespace).toHaveBeenCalledTimes(2);
  });

  it('has a refresh control that reads the kernel again', async () => {
    const { api } = setup();
    await analyzed();
    const calls = api.kernelNamespace.mock.calls.length;
    fireEvent.click(screen.getByRole('button', { name: 'Refresh from the kernel' }));
    await waitFor(() => expect(api.kernelNamespace.mock.calls.length).toBe(calls + 1));
    await waitFor(() => expect(api.analyze.mock.calls.length).toBeGreaterThanOrEqual(2));
  });

  it('keeps one form per notebook: nothing carries over to another notebook', async () => {
    const { rerender } = setup();
    await analyzed();
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Iris' } });
    fireEvent.change(screen.getByLabelText('Description'), { target: { value: 'Iris v2' } });
    rerender({ selection: { path: 'other/cars.ipynb', kernelId: 'k2', selectedCode: 'price = model.predict([[km]])[0]' } });
    expect(screen.getByText('other/cars.ipynb')).toBeInTheDocument();
    expect(screen.getByLabelText('Name')).toHaveValue('');
    expect(screen.getByLabelText('Description')).toHaveValue('');
    rerender({ selection });
    expect(screen.getByLabelText('Name')).toHaveValue('Iris');
    expect(screen.getByLabelText('Description')).toHaveValue('Iris v2');
  });

  it('takes the selected code again when the publish command runs', async () => {
    const { rerender } = setup({}, {}, { selectionEpoch: 0 });
    await analyzed();
    rerender({ selection: { ...selection, selectedCode: 'y = x * 2' }, selectionEpoch: 1 });
    await waitFor(() => expect(screen.getByLabelText('Code')).toHaveValue('y = x * 2'));
  });

  it('proposes the target remembered in the notebook, and remembers the new one after publishing', async () => {
    const target = {
      name: 'Iris',
      version: 'v1',
      versionScheme: 'v1',
      source: 'cells',
      functionName: '',
      codeHash: 'other code',
      inputs: [{ name: 'flower_data', type: 'vector' }],
      outputs: [{ name: 'iris_type', type: 'character' }],
      objects: ['clf'],
      files: [],
      outputFileNames: '',
      initCode: ''
    };
    const { host } = setup(
      {
        listServices: jest.fn().mockResolvedValue([{ name: 'Iris', version: 'v1' }]),
        publish: jest.fn().mockResolvedValue({ jobId: 'j2' }),
        publishJob: jest.fn().mockResolvedValue(doneJob({ service: { name: 'Iris', version: 'v2' } }))
      },
      { readPublishTarget: jest.fn().mockReturnValue(target) }
    );
    expect(host.readPublishTarget).toHaveBeenCalledWith('work/iris.ipynb');
    expect(screen.getByLabelText('Name')).toHaveValue('Iris');
    await waitFor(() => expect(screen.getByLabelText('Version')).toHaveValue('v2'));
    await analyzed();
    fireEvent.click(screen.getByRole('button', { name: 'Publish' }));
    await screen.findByText('Published Iris v2.');
    expect(host.writePublishTarget).toHaveBeenCalledWith(
      'work/iris.ipynb',
      expect.objectContaining({ name: 'Iris', version: 'v2', versionScheme: 'v1', objects: ['clf', 'names'] })
    );
  });

  it('after a restart, shows how the notebook\'s last publish ended', async () => {
    setup({
      publishJobs: jest.fn().mockResolvedValue([
        failedJob({ step: 'upload', message: 'Jupyter stopped while this publish was running; its session was removed.' })
      ])
    });
    expect(await screen.findByText(/Jupyter stopped while this publish was running/)).toBeInTheDocument();
  });

  it('after a restart, shows the endpoint of the notebook\'s last service', async () => {
    const { api } = setup({ publishJobs: jest.fn().mockResolvedValue([doneJob()]) });
    expect(await screen.findByText('Published Iris v1.')).toBeInTheDocument();
    expect(screen.getByText('POST http://localhost:12800/api/Iris/v1')).toBeInTheDocument();
    expect(api.publishJobs).toHaveBeenCalledWith('work/iris.ipynb');
  });
});
