import { render, screen } from '@testing-library/react';
import * as React from 'react';

import { ReactMimeRenderer, RESULT_MIME, rendererFactories, resultView, servicesView, swaggerView } from '../../consume/renderers';
import { formatElapsed, ResultView } from '../ResultView';

describe('ResultView', () => {
  it('shows outputs, console output and elapsed time', () => {
    render(
      <ResultView
        result={{
          name: 'Iris',
          version: 'v1',
          success: true,
          errorMessage: '',
          consoleOutput: 'scored 1 row',
          outputParameters: { iris_type: 'versicolor', scores: [0.1, 0.9] },
          outputFiles: ['plot.png'],
          elapsed: 0.0421
        }}
      />
    );
    expect(screen.getByText('Iris v1')).toBeInTheDocument();
    expect(screen.getByText('success')).toBeInTheDocument();
    expect(screen.getByRole('rowheader', { name: 'iris_type' })).toBeInTheDocument();
    expect(screen.getByText('versicolor')).toBeInTheDocument();
    expect(screen.getByText('[0.1,0.9]')).toBeInTheDocument();
    expect(screen.getByText('scored 1 row')).toBeInTheDocument();
    expect(screen.getByText('42 ms')).toBeInTheDocument();
    expect(screen.getByText('plot.png')).toBeInTheDocument();
  });

  it('shows the error of a failed call', () => {
    render(<ResultView result={{ success: false, errorMessage: 'NameError: x', outputParameters: {} }} />);
    expect(screen.getByText('failed')).toBeInTheDocument();
    expect(screen.getByRole('alert')).toHaveTextContent('NameError: x');
  });

  it('draws a column dict as a table', () => {
    render(<ResultView result={{ success: true, outputParameters: { frame: { a: [1, 2], b: ['x', 'y'] } } }} />);
    expect(screen.getByRole('columnheader', { name: 'a' })).toBeInTheDocument();
    expect(screen.getByText('y')).toBeInTheDocument();
  });

  it('formats elapsed times', () => {
    expect(formatElapsed(0.5)).toBe('500 ms');
    expect(formatElapsed(2.345)).toBe('2.35 s');
    expect(formatElapsed(undefined)).toBe('');
  });
});

describe('MIME renderers', () => {
  it('declares the three o16n MIME types', () => {
    expect(rendererFactories.map(f => f.mimeTypes[0])).toEqual([
      'application/vnd.o16n.result+json',
      'application/vnd.o16n.services+json',
      'application/vnd.o16n.swagger+json'
    ]);
    expect(rendererFactories.every(f => f.safe)).toBe(true);
  });

  it('renders a result model into its node', async () => {
    const renderer = new ReactMimeRenderer(RESULT_MIME, resultView, 'x');
    const model = { data: { [RESULT_MIME]: { name: 'Double', version: '1.0', success: true, outputParameters: { y: 4 }, elapsed: 0.002 } } };
    await renderer.renderModel(model as any);
    expect(renderer.node.textContent).toContain('Double 1.0');
    expect(renderer.node.textContent).toContain('2 ms');
    renderer.dispose();
  });

  it('renders service lists and swagger documents', () => {
    render(servicesView([{ name: 'Iris', version: 'v1', runtimeType: 'Python', inputParameterDefinitions: [{ name: 'x', type: 'numeric' }] }]));
    expect(screen.getByText('x: numeric')).toBeInTheDocument();
    render(swaggerView({ info: { title: 'Iris', version: 'v1' }, paths: { '/api/Iris/v1': { post: { operationId: 'go', responses: {} } } } }));
    expect(screen.getByText('go')).toBeInTheDocument();
    render(servicesView([]));
    expect(screen.getByText('No web services are published yet.')).toBeInTheDocument();
  });
});
