/**
 * The bottom of the publish panel, always in view (the form above it scrolls): the Publish button,
 * the job's steps while it runs, and how it ended (the endpoint, or what failed).
 */
import * as React from 'react';

import { IPublishJob, IWebService } from '../api/types';
import { CopyButton, Spinner } from '../components/common';
import { NotCapturedWarning, PublishFailure, PublishSteps, formatSeconds } from './PublishProgress';
import { VersionSkewWarning } from './sections/EnvironmentSection';
import { IPublishFailure } from './usePublishJob';

export interface IPublishFooterProps {
  job: IPublishJob | null;
  failure: IPublishFailure | null;
  publishing: boolean;
  /** the o16n server's URL, for the endpoint */
  serverUrl: string;
  swaggerUrl: (service: IWebService) => string;
  onOpenService: (service: IWebService) => void;
  onInsertConsumeCell: (service: IWebService) => void;
}

/** The endpoint clients call: the o16n server's address (the embedded server keeps its port across restarts). */
export function endpointOf(serverUrl: string, service: IWebService): string {
  return `${serverUrl.replace(/\/+$/, '')}/api/${encodeURIComponent(service.name)}/${encodeURIComponent(service.version)}`;
}

function PublishResult(props: IPublishFooterProps & { service: IWebService }): JSX.Element {
  const { service, job } = props;
  const endpoint = endpointOf(props.serverUrl, service);
  return (
    <div className="o16n-published" role="status">
      <p>
        <strong>
          Published {service.name} {service.version}.
        </strong>
        {job?.elapsed ? <span className="o16n-muted"> ({formatSeconds(job.elapsed)})</span> : null}
      </p>
      <p className="o16n-endpoint-line">
        Endpoint: <code className="o16n-endpoint">POST {endpoint}</code> <CopyButton text={endpoint} label="Copy the endpoint" />
      </p>
      {job?.environment ? (
        <p className="o16n-muted o16n-published-env">
          Runs in its own environment: Python {job.environment.python}, {job.environment.packages.length} package
          {job.environment.packages.length === 1 ? '' : 's'} (<code>{job.environment.key.slice(0, 16)}</code>
          {job.environment.sizeBytes ? `, ${(job.environment.sizeBytes / (1024 * 1024)).toFixed(0)} MB` : ''}).
        </p>
      ) : null}
      <p className="o16n-row">
        <button type="button" className="jp-Button jp-mod-styled jp-mod-accept" onClick={() => props.onInsertConsumeCell(service)}>
          Insert consume cell
        </button>
        <a href={props.swaggerUrl(service)} target="_blank" rel="noreferrer">
          swagger.json
        </a>
        <button type="button" className="o16n-link-button" onClick={() => props.onOpenService(service)}>
          Open in the catalog
        </button>
      </p>
    </div>
  );
}

export function PublishFooter(props: IPublishFooterProps): JSX.Element {
  const { job, failure, publishing } = props;
  const service = job?.state === 'done' ? job.service : null;
  return (
    <div className="o16n-publish-footer" aria-label="Publishing">
      <div className="o16n-actions">
        <button type="submit" className="jp-Button jp-mod-styled jp-mod-accept" disabled={publishing}>
          Publish
        </button>
        {publishing && !job ? <Spinner label="Starting…" /> : null}
      </div>
      <div className="o16n-publish-outcome" aria-live="polite">
        {job && service ? (
          // done: the result matters now, the steps fold away
          <details className="o16n-steps-done">
            <summary>
              {job.steps.length} steps{job.elapsed ? ` in ${formatSeconds(job.elapsed)}` : ''}
            </summary>
            <PublishSteps job={job} />
          </details>
        ) : job ? (
          <PublishSteps job={job} />
        ) : null}
        <PublishFailure failure={failure} />
        <NotCapturedWarning notCaptured={job?.notCaptured} />
        {service ? <VersionSkewWarning skew={job?.versionSkew} /> : null}
        {service ? <PublishResult {...props} service={service} /> : null}
      </div>
    </div>
  );
}
