/** Realtime services in the catalog (#14 item 3) and a service's environment (#10 item 4). */
import { render, screen, within } from '@testing-library/react';
import * as React from 'react';

import { DEFAULT_SETTINGS } from '../../common/settings';
import { mockApi, mockHost } from '../../__tests__/helpers';
import { realtimeSample, serviceSamples } from '../../consume/magic';
import { CatalogPanel } from '../CatalogPanel';
import { ServiceDetail } from '../ServiceDetail';

const settings = { ...DEFAULT_SETTINGS, catalogRefreshInterval: 0 };

const realtime = {
  name: 'IrisRT',
  version: 'v1',
  runtimeType: 'Realtime',
  code: '',
  inputParameterDefinitions: [{ name: 'inputData', type: 'data.frame' }],
  outputParameterDefinitions: [{ name: 'outputData', type: 'data.frame' }],
  model: {
    inputs: [{ name: 'float_input', type: 'float', shape: [null, 4] }],
    outputs: [
      { name: 'output_label', type: 'int64', shape: [null] },
      { name: 'output_probability', type: 'seq(map(int64,float))', shape: null }
    ],
    sizeBytes: 3174
  },
  environment: null,
  myPermissionOnService: 'read/write'
};

describe('realtime services in the catalog', () => {
  it('badges realtime versions and their group, not the others', async () => {
    const api = mockApi({
      listServices: jest.fn().mockResolvedValue([realtime, { name: 'Iris', version: 'v1', runtimeType: 'Python' }])
    });
    render(<CatalogPanel api={api} host={mockHost() as any} settings={settings} />);
    const rt = await screen.findByRole('button', { name: 'Open IrisRT v1' });
    expect(within(rt).getByTitle(/A realtime service/)).toHaveTextContent('Realtime service');
    const py = screen.getByRole('button', { name: 'Open Iris v1' });
    expect(within(py).queryByTitle(/realtime/i)).not.toBeInTheDocument();
    expect(py).toHaveTextContent('Python');
    const heads = screen.getAllByRole('button', { expanded: true });
    expect(heads.find(h => h.textContent?.includes('IrisRT'))).toHaveTextContent('Realtime');
    expect(heads.find(h => h.textContent?.startsWith('▾Iris1'))).not.toHaveTextContent('Realtime');
  });

  it("shows a realtime service's model tensors", async () => {
    const api = mockApi({ getService: jest.fn().mockResolvedValue(realtime) });
    render(<ServiceDetail api={api} host={mockHost() as any} settings={settings} name="IrisRT" version="v1" onDeleted={jest.fn()} />);
    const table = await screen.findByRole('table', { name: 'Model tensors' });
    expect(within(table).getByText('float_input').closest('tr')).toHaveTextContent('float_inputinputfloat[?, 4]');
    expect(screen.getByText('Model (ONNX, 3.1 kB)')).toBeInTheDocument();
    expect(screen.queryByText('Environment')).not.toBeInTheDocument();
  });

  it("shows a service's environment", async () => {
    const service = {
      name: 'Iris',
      version: 'v2',
      runtimeType: 'Python',
      environment: { key: 'a'.repeat(64), python: '3.13.1', packages: ['numpy==2.1.3', 'scikit-learn==1.5.2'] }
    };
    const api = mockApi({ getService: jest.fn().mockResolvedValue(service) });
    render(<ServiceDetail api={api} host={mockHost() as any} settings={settings} name="Iris" version="v2" onDeleted={jest.fn()} />);
    expect(await screen.findByText(`Python 3.13.1, 2 packages (${'a'.repeat(16)})`)).toBeInTheDocument();
    expect(within(screen.getByRole('list', { name: 'Packages of the environment' })).getAllByRole('listitem')).toHaveLength(2);
  });
});

describe('a sample that fits the model', () => {
  it('one [?, 4] input: four columns in order; several inputs: one column each', () => {
    expect(realtimeSample(realtime.model)).toBe('{"x1":[1],"x2":[1],"x3":[1],"x4":[1]}');
    expect(
      realtimeSample({
        inputs: [
          { name: 'age', type: 'int64', shape: ['?', 1] },
          { name: 'city', type: 'string', shape: ['?', 1] }
        ],
        outputs: [],
        sizeBytes: 1
      })
    ).toBe('{"age":[1],"city":["a"]}');
    expect(realtimeSample(null)).toBeNull();
    expect(serviceSamples(realtime)).toEqual({ inputData: '{"x1":[1],"x2":[1],"x3":[1],"x4":[1]}' });
    expect(serviceSamples({ name: 'Iris', version: 'v1', inputParameterDefinitions: [{ name: 'x', type: 'numeric' }] })).toEqual({});
  });

  it('the Try tab starts with that row', async () => {
    const api = mockApi({ getService: jest.fn().mockResolvedValue(realtime) });
    render(<ServiceDetail api={api} host={mockHost() as any} settings={settings} name="IrisRT" version="v1" initialTab="try" onDeleted={jest.fn()} />);
    expect(await screen.findByLabelText(/inputData/)).toHaveValue('{"x1":[1],"x2":[1],"x3":[1],"x4":[1]}');
  });
});
