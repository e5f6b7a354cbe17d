/**
 * Batch runs, one per service version, kept outside the views: closing and reopening a service's
 * view (or switching its tabs) shows the run where it is, and a running batch keeps being polled.
 */
import { O16nApi } from '../api/client';
import { IBatchStatus } from '../api/types';

/** Batch states after which polling stops (o16n: Pending Ready InProgress Complete Failed). */
const FINAL_STATE = /^(complete|failed|cancell?ed)$/i;

export interface IBatchRun {
  executionId: string | null;
  /** the records sent, index-aligned with the results */
  records: Record<string, unknown>[];
  /** the records as the user typed them */
  text: string;
  status: IBatchStatus | null;
  /** polling: until the batch reaches a final state, is cancelled or a call fails */
  busy: boolean;
  cancelling: boolean;
  cancelled: boolean;
  error: string | null;
}

type Listener = () => void;

const delay = (ms: number) => new Promise(resolve => window.setTimeout(resolve, ms));

export class BatchRuns {
  /** the run of a service version, null before the first one */
  get(key: string): IBatchRun | null {
    return this.runs.get(key) ?? null;
  }

  subscribe(key: string, listener: Listener): () => void {
    const set = this.listeners.get(key) ?? new Set<Listener>();
    set.add(listener);
    this.listeners.set(key, set);
    return () => void set.delete(listener);
  }

  /** Start a batch and poll it until it ends; the run replaces the version's previous one. */
  async start(
    api: O16nApi,
    service: { name: string; version: string },
    records: Record<string, unknown>[],
    text: string,
    parallelCount: number,
    pollInterval: number
  ): Promise<void> {
    const key = runKey(service.name, service.version);
    const run: IBatchRun = {
      executionId: null,
      records,
      text,
      status: null,
      busy: true,
      cancelling: false,
      cancelled: false,
      error: null
    };
    this.put(key, run);
    const mine = () => this.runs.get(key)?.records === records && !this.runs.get(key)?.cancelled;
    try {
      const { executionId } = await api.startBatch(service.name, service.version, records, parallelCount);
      this.update(key, records, { executionId });
      while (mine()) {
        const status = await api.batchStatus(service.name, service.version, executionId);
        if (!mine()) {
          return;
        }
        this.update(key, records, { status });
        if (FINAL_STATE.test(status.state)) {
          break;
        }
        await delay(pollInterval);
      }
      this.update(key, records, { busy: false });
    } catch (e) {
      if (mine()) {
        this.update(key, records, { busy: false, error: (e as Error).message });
      }
    }
  }

  /** Cancel the running batch (the o16n server also deletes its results); the results seen so far stay. */
  async cancel(api: O16nApi, service: { name: string; version: string }): Promise<void> {
    const key = runKey(service.name, service.version);
    const run = this.runs.get(key);
    if (!run?.executionId) {
      return;
    }
    this.update(key, run.records, { cancelling: true, error: null });
    try {
      await api.cancelBatch(service.name, service.version, run.executionId);
      const status = this.runs.get(key)?.status;
      this.update(key, run.records, {
        cancelled: true,
        cancelling: false,
        busy: false,
        status: status ? { ...status, state: 'Cancelled' } : status ?? null
      });
    } catch (e) {
      this.update(key, run.records, { cancelling: false, error: `Could not cancel the batch: ${(e as Error).message}` });
    }
  }

  private update(key: string, records: Record<string, unknown>[], patch: Partial<IBatchRun>): void {
    const run = this.runs.get(key);
    if (run && run.records === records) {
      this.put(key, { ...run, ...patch });
    }
  }

  private put(key: string, run: IBatchRun): void {
    this.runs.set(key, run);
    this.listeners.get(key)?.forEach(l => l());
  }

  private runs = new Map<string, IBatchRun>();
  private listeners = new Map<string, Set<Listener>>();
}

export function runKey(name: string, version: string): string {
  return `${name}\u0000${version}`;
}
