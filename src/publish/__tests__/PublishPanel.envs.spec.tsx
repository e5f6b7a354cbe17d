/** The publish panel's environment section (#10 item 1) and its realtime mode (#14 item 3). */
import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import * as React from 'react';

import { O16nApiError } from '../../api/client';
import { DEFAULT_SETTINGS } from '../../common/settings';
import { mockApi, mockHost } from '../../__tests__/helpers';
import { IKindRequest, IPublishPanelProps, PublishPanel } from '../PublishPanel';
import { modelVariables, newModel, sampleVariables, setKind, toRealtimeRequest, toRequest, validateForm, withForm } from '../model';
import { describeStep } from '../PublishProgress';

const selection = { path: 'work/iris.ipynb', kernelId: 'k1', selectedCode: 'iris_type = names[int(clf.predict([flower_data])[0])]' };

const kernel = {
  objects: [
    { name: 'X', type: 'pandas.DataFrame', size: 4800, shape: [150, 4], picklable: true },
    { name: 'clf', type: 'sklearn.svm.SVC', size: 2048, picklable: true, estimator: true },
    { name: 'names', type: 'list', size: 120, shape: [3], picklable: true },
    { name: 'pipe', type: 'sklearn.pipeline.Pipeline', size: 4096, picklable: true, estimator: true }
  ],
  functions: []
};

const environment = {
  python: '3.13.1',
  packages: [
    { name: 'scikit-learn', version: '1.5.2', serverVersion: '1.4.0', reason: 'provides sklearn (clf is a sklearn.svm.SVC)' },
    { name: 'numpy', version: '2.1.3', serverVersion: '2.1.3', reason: 'needed by scikit-learn' }
  ]
};

const analysis = {
  inputs: [{ name: 'flower_data', type: 'vector', reason: 'read before assigned' }],
  outputs: [{ name: 'iris_type', type: 'character', reason: 'names holds str' }],
  objects: [
    { name: 'clf', reason: 'read by the code' },
    { name: 'names', reason: 'read by the code' }
  ],
  function: null,
  environment
};

function setup(apiOverrides = {}, extra: Partial<IPublishPanelProps> = {}) {
  const api = mockApi({
    kernelNamespace: jest.fn().mockResolvedValue(kernel),
    analyze: jest.fn().mockResolvedValue(analysis),
    ...apiOverrides
  });
  const host = mockHost();
  const props = (more: Partial<IPublishPanelProps> = {}): IPublishPanelProps => ({
    api,
    host: host as any,
    settings: DEFAULT_SETTINGS,
    selection,
    onRefreshSelection: jest.fn(),
    pollInterval: 1,
    analysisDelay: 0,
    ...extra,
    ...more
  });
  const view = render(<PublishPanel {...props()} />);
  return { api, host, rerender: (more: Partial<IPublishPanelProps>) => view.rerender(<PublishPanel {...props(more)} />) };
}

const job = (extra: Record<string, unknown>) => ({
  jobId: 'j1',
  state: 'done',
  step: 'cleanup',
  steps: [],
  bytesUploaded: 0,
  totalBytes: 0,
  service: { name: 'Iris', version: 'v1' },
  error: null,
  notCaptured: {},
  elapsed: 2,
  ...extra
});

async function captured() {
  const table = await screen.findByRole('table', { name: 'Packages' });
  await waitFor(() => expect(within(table).getByText('scikit-learn')).toBeInTheDocument());
  return table;
}

describe('the environment section', () => {
  it('lists the captured packages with why, and warns where a pin differs from the server', async () => {
    setup();
    const table = await captured();
    expect(within(table).getByText('provides sklearn (clf is a sklearn.svm.SVC)')).toBeInTheDocument();
    expect(screen.getByLabelText('Pin of scikit-learn')).toHaveValue('1.5.2');
    expect(screen.getByLabelText('Python')).toHaveValue('3.13.1');
    // one warning: scikit-learn, not numpy; the section opens by itself and says so in its summary
    expect(within(table).getAllByText(/the server has/)).toHaveLength(1);
    expect(screen.getByLabelText('Pin of scikit-learn')).toHaveAccessibleDescription(/the server has 1.4.0/);
    expect(screen.getByText(/Python 3.13.1, 2 packages, 1 differs from the server/)).toBeInTheDocument();
  });

  it('publishes the edited list: a pin changed, a package removed, one added', async () => {
    const { api } = setup({
      publish: jest.fn().mockResolvedValue({ jobId: 'j1' }),
      publishJob: jest.fn().mockResolvedValue(
        job({
          steps: [
            { name: 'capture', state: 'done' },
            { name: 'environment', state: 'done', detail: 'ready in 12.3 s' },
            { name: 'publish', state: 'done' }
          ],
          environment: {
            key: '0123456789abcdef0123',
            python: '3.13.1',
            packages: ['scikit-learn==1.4.0', 'attrs==24.2.0'],
            state: 'ready',
            progress: null,
            message: null,
            sizeBytes: 150 * 1024 * 1024,
            buildSeconds: 12.3,
            services: []
          }
        })
      )
    });
    await captured();
    fireEvent.change(screen.getByLabelText('Pin of scikit-learn'), { target: { value: '1.4.0' } });
    expect(screen.queryByText(/the server has/)).not.toBeInTheDocument();
    expect(screen.getByText(/the kernel has 1.5.2/)).toBeInTheDocument();
    fireEvent.click(screen.getByRole('button', { name: 'Remove package numpy' }));
    fireEvent.click(screen.getByRole('button', { name: '+ Add package' }));
    fireEvent.change(screen.getByLabelText('Package 2 name'), { target: { value: 'attrs' } });
    fireEvent.change(screen.getByLabelText('Pin of attrs'), { target: { value: '24.2.0' } });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Iris' } });
    fireEvent.click(screen.getByRole('button', { name: 'Publish' }));
    await waitFor(() => expect(api.publish).toHaveBeenCalled());
    expect(api.publish.mock.calls[0][0].environment).toEqual({ python: '3.13.1', packages: ['scikit-learn==1.4.0', 'attrs==24.2.0'] });
    // the job's environment step, with the server's progress
    expect(await screen.findByText(/Building the environment/)).toBeInTheDocument();
    expect(screen.getByText(/ready in 12.3 s/)).toBeInTheDocument();
    expect(screen.getByText(/Runs in its own environment: Python 3.13.1, 2 packages/)).toHaveTextContent('(0123456789abcdef, 150 MB)');
  });

  it('a bad row is named and focused, nothing is published', async () => {
    const { api } = setup();
    await captured();
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Iris' } });
    fireEvent.click(screen.getByRole('button', { name: '+ Add package' }));
    fireEvent.click(screen.getByRole('button', { name: 'Publish' }));
    expect(await screen.findByText('Name the package or remove the row.')).toBeInTheDocument();
    expect(screen.getByLabelText('Package 3 name')).toHaveFocus();
    expect(api.publish).not.toHaveBeenCalled();
  });

  it("the server's own environment: environment null, and the version skew after publishing", async () => {
    const { api } = setup({
      publish: jest.fn().mockResolvedValue({ jobId: 'j1' }),
      publishJob: jest.fn().mockResolvedValue(
        job({ versionSkew: [{ name: 'scikit-learn', kernelVersion: '1.5.2', serverVersion: '1.4.0' }, { name: 'xgboost', kernelVersion: '2.1.1', serverVersion: null }] })
      )
    });
    await captured();
    fireEvent.click(screen.getByLabelText(/The server's own environment/));
    expect(screen.queryByRole('table', { name: 'Packages' })).not.toBeInTheDocument();
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Iris' } });
    fireEvent.click(screen.getByRole('button', { name: 'Publish' }));
    await waitFor(() => expect(api.publish).toHaveBeenCalled());
    expect(api.publish.mock.calls[0][0].environment).toBeNull();
    const skew = await screen.findByRole('list', { name: 'Version skew' });
    expect(skew).toHaveTextContent('scikit-learn: 1.5.2 in the kernel, 1.4.0 on the server');
    expect(skew).toHaveTextContent('xgboost: 2.1.1 in the kernel, not on the server');
  });

  it('a server without environments (404): publishes without one, and says so', async () => {
    const { api } = setup({
      environments: jest.fn().mockRejectedValue(new O16nApiError('Not Found', 404)),
      publish: jest.fn().mockResolvedValue({ jobId: 'j1' }),
      publishJob: jest.fn().mockResolvedValue(job({}))
    });
    expect(await screen.findByText(/This o16n server builds no environments/)).toBeInTheDocument();
    await waitFor(() => expect(screen.getByLabelText('Inputs 1 name')).toHaveValue('flower_data'));
    expect(screen.queryByRole('table', { name: 'Packages' })).not.toBeInTheDocument();
    expect(screen.getByLabelText(/The server's own environment/)).toBeChecked();
    expect(screen.getByLabelText(/The server's own environment/)).toBeDisabled();
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Iris' } });
    fireEvent.click(screen.getByRole('button', { name: 'Publish' }));
    await waitFor(() => expect(api.publish).toHaveBeenCalled());
    expect('environment' in api.publish.mock.calls[0][0]).toBe(false);
  });

  it('says when the server has this environment already', async () => {
    setup({
      environments: jest.fn().mockResolvedValue([
        {
          key: 'k',
          python: '3.13.1',
          packages: ['numpy==2.1.3', 'scikit-learn==1.5.2'],
          state: 'ready',
          progress: null,
          message: null,
          sizeBytes: 1,
          buildSeconds: 3,
          services: [{ name: 'Iris', version: 'v1' }]
        }
      ])
    });
    await captured();
    expect(await screen.findByText(/The server has this environment already \(ready, used by Iris v1\)/)).toBeInTheDocument();
    fireEvent.change(screen.getByLabelText('Pin of numpy'), { target: { value: '2.0.0' } });
    expect(screen.queryByText(/The server has this environment already/)).not.toBeInTheDocument();
    expect(screen.getByText(/A new environment is built when you publish/)).toBeInTheDocument();
  });
});

describe('publishing a model (realtime)', () => {
  it('lists fitted estimators as models, the others as samples (tabular first)', () => {
    expect(modelVariables(kernel.objects).map(o => o.name)).toEqual(['clf', 'pipe']);
    expect(sampleVariables(kernel.objects).map(o => o.name)).toEqual(['X', 'names']);
  });

  it('the request: kind realtime, the model and sample variables, optional fields left out', () => {
    let model = newModel({ selectedCode: '', target: null, versionScheme: 'v1' });
    model = setKind(withForm(model, { name: 'IrisRT' }), 'realtime', kernel.objects);
    expect(model.form.model).toBe('clf');
    expect(toRequest(model.form, 'k1', 'work/iris.ipynb')).toEqual({
      kind: 'realtime',
      kernelId: 'k1',
      name: 'IrisRT',
      version: 'v1',
      model: 'clf',
      notebook: 'work/iris.ipynb'
    });
    const full = withForm(model, { sample: 'X', description: 'Iris', operationId: 'score', version: '' });
    expect(toRealtimeRequest(full.form, 'k1')).toEqual({
      kind: 'realtime',
      kernelId: 'k1',
      name: 'IrisRT',
      model: 'clf',
      sample: 'X',
      description: 'Iris',
      operationId: 'score'
    });
    // a command naming the variable takes it
    expect(setKind(model, 'realtime', kernel.objects, 'pipe').form.model).toBe('pipe');
  });

  it('validates the model variable, not the code', () => {
    const model = setKind(withForm(newModel({ selectedCode: '', target: null, versionScheme: 'v1' }), { name: 'IrisRT' }), 'realtime', []);
    expect(validateForm(model.form)).toEqual({ model: expect.stringMatching(/Choose the kernel variable/) });
    expect(validateForm({ ...model.form, model: 'clf', sample: 'clf' })).toEqual({ sample: expect.stringMatching(/not the model itself/) });
    expect(validateForm({ ...model.form, model: 'clf' })).toEqual({});
  });

  it('names its steps', () => {
    expect(describeStep('convert')).toBe('Converting the model to ONNX');
    expect(describeStep('environment')).toBe('Building the environment');
  });

  it('opens in realtime mode from the command, publishes and shows the convert step', async () => {
    const kindRequest: IKindRequest = { kind: 'realtime', path: selection.path, epoch: 1 };
    const { api, host } = setup(
      {
        publish: jest.fn().mockResolvedValue({ jobId: 'j1' }),
        publishJob: jest
          .fn()
          .mockResolvedValueOnce(
            job({
              state: 'running',
              step: 'convert',
              service: null,
              kind: 'realtime',
              steps: [
                { name: 'convert', state: 'running', detail: null },
                { name: 'publish', state: 'pending' }
              ]
            })
          )
          .mockResolvedValue(
            job({
              kind: 'realtime',
              service: {
                name: 'IrisRT',
                version: 'v1',
                runtimeType: 'Realtime',
                inputParameterDefinitions: [{ name: 'inputData', type: 'data.frame' }]
              },
              steps: [
                { name: 'convert', state: 'done', detail: 'onnx 3.1 kB, inputs float_input: float[?,4]' },
                { name: 'publish', state: 'done' }
              ]
            })
          )
      },
      { kindRequest }
    );
    expect(await screen.findByRole('heading', { name: 'Publish a model (realtime)' })).toBeInTheDocument();
    await waitFor(() => expect(screen.getByLabelText('Model variable')).toHaveValue('clf'));
    // no code sections in this mode, no analysis of the code
    expect(screen.queryByRole('table', { name: 'Kernel objects' })).not.toBeInTheDocument();
    expect(screen.queryByText(/^Environment/)).not.toBeInTheDocument();
    expect(within(screen.getByLabelText('Model variable')).getAllByRole('option').map(o => o.textContent)).toEqual([
      'clf (sklearn.svm.SVC)',
      'pipe (sklearn.pipeline.Pipeline)'
    ]);
    fireEvent.change(screen.getByLabelText('Sample input (optional)'), { target: { value: 'X' } });
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'IrisRT' } });
    fireEvent.click(screen.getByRole('button', { name: 'Publish' }));
    await waitFor(() => expect(api.publish).toHaveBeenCalled());
    expect(api.publish.mock.calls[0][0]).toMatchObject({ kind: 'realtime', model: 'clf', sample: 'X', name: 'IrisRT' });
    expect(await screen.findByText('Published IrisRT v1.')).toBeInTheDocument();
    expect(screen.getByText(/onnx 3.1 kB, inputs float_input/)).toBeInTheDocument();
    expect(api.analyze).not.toHaveBeenCalled();
    // the notebook's remembered target stays the code's
    expect(host.writePublishTarget).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole('button', { name: 'Insert consume cell' }));
    expect(host.insertConsumeCell).toHaveBeenCalledWith(expect.objectContaining({ name: 'IrisRT', runtimeType: 'Realtime' }), {});
  });

  it('a model that does not convert: the convert step fails on the model field', async () => {
    setup(
      {
        publish: jest.fn().mockResolvedValue({ jobId: 'j1' }),
        publishJob: jest.fn().mockResolvedValue(
          job({
            state: 'failed',
            step: 'convert',
            service: null,
            steps: [{ name: 'convert', state: 'failed' }],
            error: { step: 'convert', message: "Unable to find a shape calculator for type 'MyModel'", field: 'model', status: 400 }
          })
        )
      },
      { kindRequest: { kind: 'realtime', path: selection.path, epoch: 1 } }
    );
    await waitFor(() => expect(screen.getByLabelText('Model variable')).toHaveValue('clf'));
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'IrisRT' } });
    fireEvent.click(screen.getByRole('button', { name: 'Publish' }));
    expect(await screen.findByText(/Publishing failed at step “Converting the model to ONNX”/)).toBeInTheDocument();
    await waitFor(() => expect(screen.getByLabelText('Model variable')).toHaveAttribute('aria-invalid', 'true'));
  });

  it('switches between code and model from the panel, each keeping its form', async () => {
    setup();
    await captured();
    fireEvent.change(screen.getByLabelText('Name'), { target: { value: 'Iris' } });
    fireEvent.click(screen.getByLabelText('A model (realtime)'));
    await waitFor(() => expect(screen.getByLabelText('Model variable')).toHaveValue('clf'));
    expect(screen.getByLabelText('Name')).toHaveValue('Iris');
    fireEvent.click(screen.getByLabelText('Code and kernel objects'));
    expect(await screen.findByRole('table', { name: 'Packages' })).toBeInTheDocument();
  });
});
