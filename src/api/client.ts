/**
 * The one typed request module of the extension: every call to the Jupyter server extension's
 * `/o16n/...` routes goes through `O16nApi`, which uses `ServerConnection.makeRequest` (so the
 * XSRF token and the Jupyter auth header are added by JupyterLab).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import {
  AnyPublishRequest,
  IAnalysis,
  IAnalyzeRequest,
  IBatchStatus,
  IEnvironment,
  IKernelNamespace,
  IPublishJob,
  IServiceResult,
  IStatus,
  ISwaggerDocument,
  ITestRequest,
  ITestResult,
  IWebService
} from './types';

/** An error answered by `/o16n/...`: `{message, field, step}` plus the HTTP status. */
export class O16nApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly field: string | null = null,
    readonly step: string | null = null
  ) {
    super(message);
    this.name = 'O16nApiError';
  }
}

/** 401 from `/o16n/...`: nobody is logged in to o16n, or o16n refused our login. */
export function isNotLoggedIn(error: unknown): boolean {
  return error instanceof O16nApiError && error.status === 401;
}

const enc = encodeURIComponent;

export class O16nApi {
  constructor(settings?: ServerConnection.ISettings) {
    this.serverSettings = settings ?? ServerConnection.makeSettings();
  }

  readonly serverSettings: ServerConnection.ISettings;

  // ------------------------------------------------------------------ connection
  status(): Promise<IStatus> {
    return this.request<IStatus>('GET', 'status');
  }

  login(username: string, password: string): Promise<IStatus> {
    return this.request<IStatus>('POST', 'login', { username, password });
  }

  /** Embedded mode: log in as the embedded server's admin again after a logout (an empty body). */
  loginAgain(): Promise<IStatus> {
    return this.request<IStatus>('POST', 'login', {});
  }

  /**
   * Start an OpenID Connect device-code sign-in: the status answered carries the prompt (`device`)
   * while the server extension waits for the user at the provider.
   */
  loginWithDevice(): Promise<IStatus> {
    return this.request<IStatus>('POST', 'login', { method: 'device' });
  }

  /** The server extension signs in as its OpenID Connect client (client credentials). */
  loginWithClientCredentials(): Promise<IStatus> {
    return this.request<IStatus>('POST', 'login', { method: 'client_credentials' });
  }

  logout(): Promise<IStatus> {
    return this.request<IStatus>('POST', 'logout');
  }

  // ------------------------------------------------------------------ services
  /** Every service, or every version of one service when `name` is given. */
  listServices(name?: string): Promise<IWebService[]> {
    const query = name ? `?name=${enc(name)}` : '';
    return this.request<IWebService[]>('GET', `services${query}`);
  }

  getService(name: string, version: string): Promise<IWebService> {
    return this.request<IWebService>('GET', this.servicePath(name, version));
  }

  updateDescription(name: string, version: string, description: string): Promise<IWebService> {
    return this.request<IWebService>('PATCH', this.servicePath(name, version), { description });
  }

  deleteService(name: string, version: string): Promise<{ deleted: boolean }> {
    return this.request('DELETE', this.servicePath(name, version));
  }

  swagger(name: string, version: string): Promise<ISwaggerDocument> {
    return this.request<ISwaggerDocument>('GET', `${this.servicePath(name, version)}/swagger`);
  }

  consume(name: string, version: string, inputs: Record<string, unknown>): Promise<IServiceResult> {
    return this.request<IServiceResult>('POST', `${this.servicePath(name, version)}/consume`, {
      inputs
    });
  }

  startBatch(
    name: string,
    version: string,
    records: Record<string, unknown>[],
    parallelCount: number
  ): Promise<{ executionId: string }> {
    return this.request('POST', `${this.servicePath(name, version)}/batch`, { records, parallelCount });
  }

  batchStatus(name: string, version: string, executionId: string): Promise<IBatchStatus> {
    return this.request<IBatchStatus>(
      'GET',
      `${this.servicePath(name, version)}/batch/${enc(executionId)}`
    );
  }

  cancelBatch(name: string, version: string, executionId: string): Promise<{ deleted: boolean }> {
    return this.request('DELETE', `${this.servicePath(name, version)}/batch/${enc(executionId)}`);
  }

  // ------------------------------------------------------------------ kernels and publishing
  /** The kernel's objects (candidates to ship with a service) and the functions defined in the notebook. */
  kernelNamespace(kernelId: string): Promise<IKernelNamespace> {
    return this.request<IKernelNamespace>('GET', `kernels/${enc(kernelId)}/namespace`);
  }

  /** Inputs, outputs and the kernel objects that cell code or a kernel function needs, worked out in the kernel. */
  analyze(kernelId: string, body: IAnalyzeRequest): Promise<IAnalysis> {
    return this.request<IAnalysis>('POST', `kernels/${enc(kernelId)}/analyze`, body);
  }

  /** Run the service code in the kernel on a copy of its namespace, bound as the service will bind it. */
  testInKernel(kernelId: string, body: ITestRequest): Promise<ITestResult> {
    return this.request<ITestResult>('POST', `kernels/${enc(kernelId)}/test`, body);
  }

  /** A service from code (`kind` absent or `script`), or a realtime service from a model variable (`kind: "realtime"`). */
  publish(body: AnyPublishRequest): Promise<{ jobId: string }> {
    return this.request('POST', 'publish', body);
  }

  publishJob(jobId: string): Promise<IPublishJob> {
    return this.request<IPublishJob>('GET', `publish/${enc(jobId)}`);
  }

  /** The latest publish jobs of a notebook (they survive a JupyterLab restart), newest first. */
  async publishJobs(notebook: string): Promise<IPublishJob[]> {
    const data = await this.request<IPublishJob[] | { jobs: IPublishJob[] }>('GET', `publish?notebook=${enc(notebook)}`);
    return Array.isArray(data) ? data : (data?.jobs ?? []);
  }

  /** The environments the o16n server has built (or is building), with the services using them. */
  environments(): Promise<IEnvironment[]> {
    return this.request<IEnvironment[]>('GET', 'environments');
  }

  // ------------------------------------------------------------------ plumbing
  /** The absolute URL of a `/o16n/...` route (used for links and by tests). */
  url(path: string): string {
    return URLExt.join(this.serverSettings.baseUrl, 'o16n', path);
  }

  private servicePath(name: string, version: string): string {
    return `services/${enc(name)}/${enc(version)}`;
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'Content-Type': 'application/json' };
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(this.url(path), init, this.serverSettings);
    } catch (error) {
      throw new O16nApiError(
        `The Jupyter server could not be reached: ${(error as Error).message ?? error}`,
        0
      );
    }
    const text = await response.text();
    let data: unknown = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = text;
      }
    }
    if (!response.ok) {
      const err = (data && typeof data === 'object' ? data : {}) as {
        message?: string;
        field?: string | null;
        step?: string | null;
      };
      const message =
        err.message ||
        (typeof data === 'string' && data.length < 500 ? data : '') ||
        `${method} /o16n/${path} failed (${response.status} ${response.statusText})`;
      throw new O16nApiError(message, response.status, err.field ?? null, err.step ?? null);
    }
    return data as T;
  }
}
