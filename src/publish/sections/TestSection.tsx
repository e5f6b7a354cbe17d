/** Test the service code in the notebook's kernel (through the relay) with sample inputs, before publishing. */
import * as React from 'react';

import { ErrorBox, Spinner, showValue } from '../../components/common';
import { currentParams, sampleText, testKey, withForm } from '../model';
import { ISectionProps } from './common';

export function TestSection(props: ISectionProps & { canRun: boolean; onRun: () => void }): JSX.Element {
  const { model, onChange } = props;
  const { form, test } = model;
  const { inputs } = currentParams(form);
  // a result is about the code it ran: once the code, parameters or objects change, it is gone
  const current = test.key === testKey(form);
  const result = current ? test.result : null;
  const error = current ? test.error : null;
  return (
    <details className="o16n-section o16n-test" open={!!result || !!error || undefined}>
      <summary>Test in the notebook's kernel</summary>
      {inputs.length ? (
        <table className="o16n-table" aria-label="Sample inputs">
          <tbody>
            {inputs.map(i => (
              <tr key={i.name}>
                <th scope="row">
                  <label htmlFor={`o16n-sample-${i.name}`}>{i.name}</label>
                </th>
                <td>
                  <input
                    id={`o16n-sample-${i.name}`}
                    className="jp-mod-styled o16n-input"
                    value={sampleText(form, i)}
                    spellCheck={false}
                    onChange={e => onChange(withForm(model, { samples: { ...form.samples, [i.name]: e.target.value } }))}
                  />
                </td>
                <td className="o16n-muted">{i.type}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-mod-reject"
        disabled={test.state === 'running' || !props.canRun}
        onClick={props.onRun}
      >
        Test
      </button>
      {test.state === 'running' ? <Spinner label="Running in the kernel…" /> : null}
      <ErrorBox message={error} title="Test failed" />
      {result && result.success ? (
        <table className="o16n-table o16n-test-outputs" aria-label="Test outputs">
          <tbody>
            {Object.entries(result.outputs ?? {}).map(([k, v]) => (
              <tr key={k}>
                <th scope="row">{k}</th>
                <td>
                  <pre className="o16n-value">{showValue(v)}</pre>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {result && result.consoleOutput?.trim() ? <pre className="o16n-console-inline">{result.consoleOutput}</pre> : null}
    </details>
  );
}
