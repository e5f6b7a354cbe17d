/**
 * What the publish panel reads from the notebook's kernel through the relay: its namespace
 * (objects and functions), and the analysis of the code to publish. Both are read again whenever
 * `epoch` changes (a cell finished executing, the panel was shown, the kernel changed, the refresh
 * control was used).
 */
import * as React from 'react';

import { O16nApi } from '../api/client';
import { IAnalysis, IAnalyzeRequest, IKernelNamespace } from '../api/types';

export interface INamespaceState {
  namespace: IKernelNamespace | null;
  loading: boolean;
  error: string | null;
}

/** The kernel's objects and functions; the last listing stays shown while the next one loads. */
export function useKernelNamespace(api: O16nApi, kernelId: string | null, epoch: number): INamespaceState {
  const [state, setState] = React.useState<INamespaceState>({ namespace: null, loading: false, error: null });
  React.useEffect(() => {
    if (!kernelId) {
      setState({ namespace: null, loading: false, error: null });
      return;
    }
    let current = true;
    setState(s => ({ ...s, loading: true }));
    api
      .kernelNamespace(kernelId)
      .then(namespace => current && setState({ namespace, loading: false, error: null }))
      .catch((e: Error) => current && setState({ namespace: null, loading: false, error: e.message }));
    return () => void (current = false);
  }, [api, kernelId, epoch]);
  return state;
}

/**
 * Analyze `request` in the kernel, `debounceMs` after it last changed (the code is typed), and
 * again on every epoch. Answers to an older request are dropped.
 */
export function useAnalysis(
  api: O16nApi,
  kernelId: string | null,
  request: IAnalyzeRequest | null,
  epoch: number,
  onResult: (request: IAnalyzeRequest, analysis: IAnalysis) => void,
  onError: (message: string) => void,
  debounceMs = 300
): void {
  const key = request ? JSON.stringify(request) : '';
  const callbacks = React.useRef({ onResult, onError });
  callbacks.current = { onResult, onError };
  React.useEffect(() => {
    if (!kernelId || !key) {
      return;
    }
    const body = JSON.parse(key) as IAnalyzeRequest;
    let current = true;
    const timer = window.setTimeout(() => {
      api
        .analyze(kernelId, body)
        .then(analysis => current && callbacks.current.onResult(body, analysis))
        .catch((e: Error) => current && callbacks.current.onError(e.message));
    }, debounceMs);
    return () => {
      current = false;
      window.clearTimeout(timer);
    };
  }, [api, kernelId, key, epoch, debounceMs]);
}
