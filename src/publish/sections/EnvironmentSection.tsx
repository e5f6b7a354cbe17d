/**
 * The environment the service runs in (#10 item 1): its own, built by the o16n server from the
 * packages the kernel's analysis captured (editable: add, remove, change a pin; a warning where a
 * pin differs from the server's version), or the server's own environment.
 */
import * as React from 'react';

import { IEnvironment } from '../../api/types';
import {
  EnvironmentMode,
  IEnvironmentForm,
  addPackage,
  effectiveMode,
  environmentEdited,
  matchingEnvironment,
  pinChanged,
  pinWarning,
  removePackage,
  resetEnvironment,
  setEnvironmentMode,
  setPackageName,
  setPin,
  setPython,
  toEnvironmentSpec,
  warningCount
} from '../environment';
import { withForm } from '../model';
import { ISectionProps } from './common';

function summary(env: IEnvironmentForm): string {
  if (env.serverBuilds === false) {
    return "the server's own: it builds no environments";
  }
  if (env.mode === 'server') {
    return "the server's own";
  }
  if (!env.captured && !env.rows.length) {
    return 'not captured yet';
  }
  const warnings = warningCount(env);
  const packages = `${env.rows.length} package${env.rows.length === 1 ? '' : 's'}`;
  return `Python ${env.python || '?'}, ${packages}${warnings ? `, ${warnings} differ${warnings === 1 ? 's' : ''} from the server` : ''}`;
}

export function EnvironmentSection(props: ISectionProps & { environments: IEnvironment[] | null }): JSX.Element {
  const { model, onChange } = props;
  const env = model.form.environment;
  const { errors } = model;
  const change = (next: IEnvironmentForm) => onChange(withForm(model, { environment: next }));
  const listError = errors.environment;
  const pythonError = errors['environment.python'];
  const reused = env.mode === 'captured' ? matchingEnvironment(toEnvironmentSpec(env), props.environments ?? []) : null;
  // open by itself while a pin differs from the server's or a field is in error, until the user folds it
  const [userOpen, setUserOpen] = React.useState<boolean | null>(null);
  const hasErrors = Object.keys(errors).some(k => k === 'environment' || k.startsWith('environment.'));
  const open = hasErrors || (userOpen ?? (effectiveMode(env) === 'captured' && warningCount(env) > 0));
  return (
    <details
      className={`o16n-section o16n-environment${hasErrors ? ' o16n-mod-invalid' : ''}`}
      data-field="environment"
      open={open || undefined}
      onToggle={e => {
        const nowOpen = (e.target as HTMLDetailsElement).open;
        if (nowOpen !== open) {
          setUserOpen(nowOpen);
        }
      }}
    >
      <summary>
        Environment <span className="o16n-muted">({summary(env)})</span>
      </summary>
      {env.serverBuilds === false ? (
        <p className="o16n-warning" role="status">
          This o16n server builds no environments (it has no <code>/environments</code>): the service runs with the server&apos;s own
          packages, and the panel names those that differ from the kernel&apos;s after publishing.
        </p>
      ) : null}
      <div role="radiogroup" aria-label="Environment of the service" className="o16n-env-modes">
        {(
          [
            ['captured', 'Its own environment, with the packages below (built by the server, reused by every service with the same pins)'],
            ['server', "The server's own environment (no build; what R Server 9.1 clients get)"]
          ] as [EnvironmentMode, string][]
        ).map(([mode, label]) => (
          <label key={mode} className="o16n-radio">
            <input
              type="radio"
              name="o16n-env-mode"
              value={mode}
              checked={effectiveMode(env) === mode}
              disabled={env.serverBuilds === false}
              onChange={() => change(setEnvironmentMode(env, mode))}
            />{' '}
            {label}
          </label>
        ))}
      </div>
      {env.serverBuilds === false ? null : env.mode === 'server' ? (
        <p className="o16n-hint">
          The service runs with the server&apos;s packages. After publishing, the panel names the packages whose version in the kernel
          differs from the server&apos;s.
        </p>
      ) : (
        <EnvironmentEditor env={env} errors={errors} onChange={change} />
      )}
      {env.mode === 'captured' && env.captured && reused ? (
        <p className="o16n-hint o16n-env-reused" role="status">
          The server has this environment already ({reused.state === 'ready' ? 'ready' : reused.state}
          {reused.services.length ? `, used by ${reused.services.map(s => `${s.name} ${s.version}`).join(', ')}` : ''}): publishing reuses
          it.
        </p>
      ) : env.mode === 'captured' && env.rows.length ? (
        <p className="o16n-hint">A new environment is built when you publish (the first build of a set of pins takes a while).</p>
      ) : null}
      {pythonError ? <div className="o16n-field-error">{pythonError}</div> : null}
      {listError ? <div className="o16n-field-error">{listError}</div> : null}
    </details>
  );
}

function EnvironmentEditor(props: { env: IEnvironmentForm; errors: Record<string, string>; onChange: (env: IEnvironmentForm) => void }): JSX.Element {
  const { env, errors, onChange } = props;
  const pythonError = errors['environment.python'];
  return (
    <>
      <div className={`o16n-field o16n-env-python${pythonError ? ' o16n-mod-invalid' : ''}`}>
        <label htmlFor="o16n-env-python">Python</label>
        <input
          id="o16n-env-python"
          className="jp-mod-styled o16n-input"
          value={env.python}
          placeholder="3.13"
          spellCheck={false}
          aria-invalid={!!pythonError}
          aria-describedby="o16n-env-python-hint"
          onChange={e => onChange(setPython(env, e.target.value))}
        />
        <div id="o16n-env-python-hint" className="o16n-hint">
          {env.kernelPython && env.python.trim() !== env.kernelPython ? `The kernel runs Python ${env.kernelPython}.` : 'The kernel\u2019s Python.'}
        </div>
      </div>
      {!env.captured && !env.rows.length ? (
        <p className="o16n-muted">
          The packages are captured from the kernel with the analysis of the code (the relay did not report them yet). Add the ones the
          service needs, or publish with the server&apos;s environment.
        </p>
      ) : null}
      {env.rows.length ? (
        <table className="o16n-table o16n-env-table" aria-label="Packages">
          <thead>
            <tr>
              <th scope="col">Package</th>
              <th scope="col">Pin</th>
              <th scope="col">
                <span className="o16n-visually-hidden">Remove</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {env.rows.map((row, i) => (
              <PackageRow key={row.added ? `added-${i}` : row.name} env={env} index={i} error={errors[`environment.${i}`]} onChange={onChange} />
            ))}
          </tbody>
        </table>
      ) : env.captured ? (
        <p className="o16n-muted">No packages: the code and its objects need nothing beyond the standard library.</p>
      ) : null}
      {env.captured?.notes?.length ? (
        <ul className="o16n-analysis-notes" aria-label="Not pinned">
          {env.captured.notes.map(n => (
            <li key={n} className="o16n-hint">
              {n}
            </li>
          ))}
        </ul>
      ) : null}
      <p className="o16n-row">
        <button type="button" className="jp-Button jp-mod-styled jp-mod-reject o16n-add" onClick={() => onChange(addPackage(env))}>
          + Add package
        </button>
        {env.captured && environmentEdited(env) ? (
          <button type="button" className="o16n-link-button" onClick={() => onChange(resetEnvironment(env))}>
            Back to the captured packages{env.removed.length ? ` (${env.removed.length} removed)` : ''}
          </button>
        ) : null}
      </p>
    </>
  );
}

function PackageRow(props: {
  env: IEnvironmentForm;
  index: number;
  error: string | undefined;
  onChange: (env: IEnvironmentForm) => void;
}): JSX.Element {
  const { env, index, error } = props;
  const row = env.rows[index];
  const id = `o16n-env-${index}`;
  const warning = pinWarning(row);
  const label = row.name.trim() || `package ${index + 1}`;
  const notes: string[] = [];
  if (row.reason) {
    notes.push(row.reason);
  }
  if (pinChanged(row) && row.kernelVersion) {
    notes.push(`the kernel has ${row.kernelVersion}`);
  }
  if (row.added && !row.reason) {
    notes.push('added by you');
  }
  return (
    <tr className={error ? 'o16n-mod-invalid' : warning ? 'o16n-mod-warn' : ''} data-package={row.name}>
      <td>
        {row.added ? (
          <input
            id={`${id}-name`}
            className="jp-mod-styled o16n-input"
            aria-label={`Package ${index + 1} name`}
            aria-invalid={!!error}
            aria-describedby={`${id}-notes`}
            value={row.name}
            placeholder="e.g. attrs"
            spellCheck={false}
            onChange={e => props.onChange(setPackageName(env, index, e.target.value))}
          />
        ) : (
          <code id={`${id}-name`}>{row.name}</code>
        )}
        <div id={`${id}-notes`}>
          {error ? <div className="o16n-field-error">{error}</div> : null}
          {notes.length ? <div className="o16n-hint o16n-row-reason">{notes.join('; ')}</div> : null}
        </div>
      </td>
      <td>
        <input
          className="jp-mod-styled o16n-input o16n-env-version"
          aria-label={`Pin of ${label}`}
          aria-describedby={warning ? `${id}-warning` : undefined}
          value={row.version}
          placeholder="latest"
          spellCheck={false}
          onChange={e => props.onChange(setPin(env, index, e.target.value))}
        />
        {warning ? (
          <div id={`${id}-warning`} className="o16n-env-warning">
            <span aria-hidden="true">⚠ </span>
            {warning}
          </div>
        ) : null}
      </td>
      <td>
        <button
          type="button"
          className="o16n-icon-button"
          aria-label={`Remove package ${label}`}
          title="Remove"
          onClick={() => props.onChange(removePackage(env, index))}
        >
          ×
        </button>
      </td>
    </tr>
  );
}

/** After a publish without an environment: the packages whose kernel version differs from the server's. */
export function VersionSkewWarning(props: { skew: { name: string; kernelVersion: string; serverVersion: string | null }[] | undefined }): JSX.Element | null {
  const skew = props.skew ?? [];
  if (!skew.length) {
    return null;
  }
  return (
    <div className="o16n-warning o16n-version-skew" role="status" aria-labelledby="o16n-skew-title">
      <p id="o16n-skew-title">
        <strong>The service runs with the server&apos;s packages, and {skew.length === 1 ? 'one differs' : `${skew.length} differ`} from the kernel&apos;s:</strong>
      </p>
      <ul aria-label="Version skew">
        {skew.map(s => (
          <li key={s.name}>
            <code>{s.name}</code>: {s.kernelVersion} in the kernel, {s.serverVersion === null ? 'not on the server' : `${s.serverVersion} on the server`}
          </li>
        ))}
      </ul>
      <p className="o16n-hint">Publish again with its own environment to run the kernel&apos;s versions.</p>
    </div>
  );
}
