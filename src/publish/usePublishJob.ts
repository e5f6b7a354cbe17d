/**
 * The publish job: start it, poll it until it ends, resume one started earlier (another notebook
 * was shown meanwhile, or JupyterLab restarted), and map its error to a form field, once, for the
 * POST and for the job alike.
 */
import * as React from 'react';

import { O16nApi, O16nApiError } from '../api/client';
import { AnyPublishRequest, IPublishJob } from '../api/types';
import { fieldOfError } from './fields';

export interface IPublishFailure {
  step: string | null;
  message: string;
  /** the HTTP status behind the failure, when known (401: not logged in to o16n) */
  status: number | null;
}

export interface IPublishJobCallbacks {
  /** the relay accepted the job */
  onStarted?: (jobId: string) => void;
  /** the job ended (done or failed) while this hook followed it */
  onFinished?: (job: IPublishJob) => void;
  /** an error named a field of the form */
  onFieldError?: (field: string, message: string) => void;
  /** the failure was a 401: nobody is logged in to o16n */
  onNotLoggedIn?: () => void;
}

export interface IPublishJobState {
  job: IPublishJob | null;
  failure: IPublishFailure | null;
  publishing: boolean;
  start: (request: AnyPublishRequest) => Promise<void>;
  /** follow a job started earlier: poll it while it runs, show how it ended */
  resume: (jobId: string) => Promise<void>;
  /** show a job found in the relay's list (after a restart) */
  show: (job: IPublishJob) => void;
  /** a failure found before any job started (no kernel, ...) */
  fail: (failure: IPublishFailure) => void;
}

const delay = (ms: number) => new Promise(resolve => window.setTimeout(resolve, ms));

export function usePublishJob(api: O16nApi, pollInterval: number, callbacks: IPublishJobCallbacks): IPublishJobState {
  const [job, setJob] = React.useState<IPublishJob | null>(null);
  const [failure, setFailure] = React.useState<IPublishFailure | null>(null);
  const [publishing, setPublishing] = React.useState(false);
  const latest = React.useRef(callbacks);
  latest.current = callbacks;
  /** bumped by every start/resume/unmount: an older poll loop stops */
  const generation = React.useRef(0);
  React.useEffect(() => () => void generation.current++, []);

  const reportError = React.useCallback((field: string | null | undefined, message: string, status: number | null) => {
    const formField = fieldOfError(field);
    if (formField) {
      latest.current.onFieldError?.(formField, message);
    }
    if (status === 401) {
      latest.current.onNotLoggedIn?.();
    }
  }, []);

  const endOf = React.useCallback(
    (ended: IPublishJob, report: boolean) => {
      if (ended.state === 'failed') {
        const err = ended.error ?? { step: ended.step, message: 'Publishing failed.', field: null, status: null };
        setFailure({ step: err.step, message: err.message, status: err.status ?? null });
        if (report) {
          reportError(err.field, err.message, err.status ?? null);
        }
      }
    },
    [reportError]
  );

  const follow = React.useCallback(
    async (jobId: string, mine: number) => {
      for (;;) {
        const status = await api.publishJob(jobId);
        if (generation.current !== mine) {
          return;
        }
        setJob(status);
        if (status.state !== 'running') {
          endOf(status, true);
          latest.current.onFinished?.(status);
          return;
        }
        await delay(pollInterval);
        if (generation.current !== mine) {
          return;
        }
      }
    },
    [api, pollInterval, endOf]
  );

  const run = React.useCallback(
    async (work: (mine: number) => Promise<void>) => {
      const mine = ++generation.current;
      setFailure(null);
      setPublishing(true);
      try {
        await work(mine);
      } catch (e) {
        if (generation.current === mine) {
          const err = e as O16nApiError;
          setFailure({ step: err.step ?? null, message: err.message, status: err.status ?? null });
          reportError(err.field, err.message, err.status ?? null);
        }
      } finally {
        if (generation.current === mine) {
          setPublishing(false);
        }
      }
    },
    [reportError]
  );

  const start = React.useCallback(
    (request: AnyPublishRequest) =>
      run(async mine => {
        setJob(null);
        const { jobId } = await api.publish(request);
        if (generation.current !== mine) {
          return;
        }
        latest.current.onStarted?.(jobId);
        await follow(jobId, mine);
      }),
    [api, follow, run]
  );

  const resume = React.useCallback((jobId: string) => run(mine => follow(jobId, mine)), [follow, run]);

  const show = React.useCallback(
    (found: IPublishJob) => {
      generation.current++;
      setJob(found);
      setFailure(null);
      endOf(found, false);
    },
    [endOf]
  );

  const fail = React.useCallback((f: IPublishFailure) => {
    generation.current++;
    setJob(null);
    setFailure(f);
  }, []);

  return { job, failure, publishing, start, resume, show, fail };
}
