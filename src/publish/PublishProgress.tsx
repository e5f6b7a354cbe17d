/** What the publish panel shows while and after a publish job runs: steps, failure, objects left out. */
import * as React from 'react';

import { IPublishJob, PublishStepState } from '../api/types';
import { IPublishFailure } from './usePublishJob';

/** Words for a publish step, with its progress ("uploading 3.2 MB of 10.0 MB"). */
export function describeStep(name: string, bytesUploaded = 0, totalBytes = 0): string {
  const mb = (b: number) => (totalBytes >= 1024 * 1024 ? `${(b / (1024 * 1024)).toFixed(1)} MB` : `${Math.round(b / 1024)} KB`);
  switch (name) {
    case 'capture':
      return 'Capturing the kernel state';
    case 'environment':
      return 'Building the environment';
    case 'convert':
      return 'Converting the model to ONNX';
    case 'upload':
      return totalBytes > 0 ? `Uploading ${mb(bytesUploaded)} of ${mb(totalBytes)}` : 'Uploading';
    case 'files':
      return 'Uploading files';
    case 'snapshot':
      return 'Creating the snapshot';
    case 'publish':
      return 'Publishing';
    case 'cleanup':
      return 'Cleaning up';
    default:
      return name;
  }
}

const STEP_MARK: Record<PublishStepState, string> = {
  pending: '·',
  running: '…',
  done: '✓',
  failed: '✗',
  skipped: '–'
};

/** Words for a step state, read by screen readers after the step (the mark is hidden from them). */
const STEP_WORDS: Record<PublishStepState, string> = {
  pending: 'waiting',
  running: 'running',
  done: 'done',
  failed: 'failed',
  skipped: 'skipped, nothing to do'
};

export function PublishSteps(props: { job: IPublishJob }): JSX.Element {
  const { job } = props;
  return (
    <ol className="o16n-steps" aria-label="Publish progress">
      {job.steps.map(s => (
        <li key={s.name} className="o16n-step" data-state={s.state}>
          <span className="o16n-step-state" aria-hidden="true">
            {STEP_MARK[s.state] ?? '·'}
          </span>{' '}
          {describeStep(s.name, job.bytesUploaded, job.totalBytes)}
          <span className={s.state === 'skipped' ? 'o16n-muted' : 'o16n-visually-hidden'}>
            {' '}
            ({STEP_WORDS[s.state] ?? s.state})
          </span>
          {s.detail ? <span className="o16n-muted"> — {s.detail}</span> : null}
          {s.name === 'upload' && s.state === 'running' && job.totalBytes > 0 ? (
            <progress max={job.totalBytes} value={job.bytesUploaded} aria-label="Upload progress" />
          ) : null}
          {(s.name === 'environment' || s.name === 'convert') && s.state === 'running' ? (
            // the server tells what it does (the detail), not how far it is: an indeterminate bar
            <progress aria-label={s.name === 'environment' ? 'Environment build progress' : 'Conversion progress'} />
          ) : null}
        </li>
      ))}
    </ol>
  );
}

export function PublishFailure(props: { failure: IPublishFailure | null }): JSX.Element | null {
  const { failure } = props;
  if (!failure) {
    return null;
  }
  return (
    <div className="o16n-error" role="alert">
      <strong>Publishing failed{failure.step ? ` at step “${describeStep(failure.step)}”` : ''}:</strong>{' '}
      {failure.message}
      {failure.status === 401 ? (
        <p className="o16n-error-hint">
          Nobody is logged in to o16n (or it refused the login): log in from the <em>Web services</em> panel, then
          publish again.
        </p>
      ) : null}
    </div>
  );
}

/** Kernel objects that could not be serialized: the service was published without them. */
export function NotCapturedWarning(props: { notCaptured: Record<string, string> | undefined }): JSX.Element | null {
  const entries = Object.entries(props.notCaptured ?? {});
  if (!entries.length) {
    return null;
  }
  return (
    <div className="o16n-warning" role="status" aria-labelledby="o16n-not-captured-title">
      <p id="o16n-not-captured-title">
        <strong>
          {entries.length === 1 ? 'One object was' : `${entries.length} objects were`} not shipped with the service
        </strong>{' '}
        (they could not be serialized; code that uses them will fail):
      </p>
      <ul className="o16n-not-captured" aria-label="Objects not shipped">
        {entries.map(([name, reason]) => (
          <li key={name}>
            <code>{name}</code>: {reason}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** "1.2 s" / "2 min 5 s" */
export function formatSeconds(seconds: number): string {
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}
