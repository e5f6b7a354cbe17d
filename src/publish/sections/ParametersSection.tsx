/** The service's inputs and outputs, as the kernel's analysis proposed them or as the user edited them. */
import * as React from 'react';

import { ParamTable } from '../../components/ParamTable';
import { currentParams, detectAgain, setRows } from '../model';
import { ISectionProps } from './common';

export function ParametersSection(props: ISectionProps & { analysisError: string | null }): JSX.Element {
  const { model, onChange } = props;
  const params = currentParams(model.form);
  return (
    <section className="o16n-section-params" aria-label="Inputs and outputs">
      <ParamTable
        kind="inputs"
        rows={params.inputs}
        onChange={rows => onChange(setRows(model, 'inputs', rows))}
        errors={model.errors}
        origin={params.origin}
      />
      <ParamTable kind="outputs" rows={params.outputs} onChange={rows => onChange(setRows(model, 'outputs', rows))} errors={model.errors} />
      {params.notes && params.notes.length ? (
        <ul className="o16n-analysis-notes" aria-label="Notes on the code">
          {params.notes.map(n => (
            <li key={n.name} className="o16n-hint">
              <code>{n.name}</code>
              {n.reason ? `: ${n.reason}` : ''}
            </li>
          ))}
        </ul>
      ) : null}
      {props.analysisError ? (
        <p className="o16n-warning" role="status">
          Could not guess the inputs and outputs in the kernel: {props.analysisError}
        </p>
      ) : null}
      {params.edited ? (
        <button type="button" className="o16n-link-button" onClick={() => onChange(detectAgain(model))}>
          Detect inputs and outputs again
        </button>
      ) : null}
    </section>
  );
}
