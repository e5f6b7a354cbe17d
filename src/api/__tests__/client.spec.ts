import { ServerConnection } from '@jupyterlab/services';

import { O16nApi, O16nApiError, isNotLoggedIn } from '../client';

function settingsWith(fetchImpl: jest.Mock): ServerConnection.ISettings {
  return ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/lab-base/',
    wsUrl: 'ws://localhost:8888/lab-base/',
    fetch: fetchImpl as unknown as typeof fetch,
    Request: class {
      constructor(url: string, init: RequestInit) {
        this.url = url;
        this.init = init;
        this.headers = new Headers(init.headers);
      }
      url: string;
      init: RequestInit;
      headers: Headers;
    } as unknown as typeof Request,
    Headers: Headers,
    init: { cache: 'default', credentials: 'same-origin' }
  });
}

function reply(status: number, body: unknown): Response {
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText: status === 200 ? 'OK' : 'Error',
    text: () => Promise.resolve(text)
  } as unknown as Response;
}

describe('O16nApi', () => {
  let fetchMock: jest.Mock;
  let api: O16nApi;

  beforeEach(() => {
    fetchMock = jest.fn();
    api = new O16nApi(settingsWith(fetchMock));
  });

  const lastCall = () => {
    const [request] = fetchMock.mock.calls[fetchMock.mock.calls.length - 1];
    const r = request as { url: string; init: RequestInit; headers: Headers };
    return { url: r.url, init: { ...r.init, headers: r.headers } };
  };

  it('gets the status from /o16n/status under the base URL', async () => {
    fetchMock.mockResolvedValue(reply(200, { connected: true, mode: 'embedded', url: 'http://x', user: null, server: null, message: null }));
    const status = await api.status();
    expect(status.mode).toBe('embedded');
    expect(lastCall().url).toBe('http://localhost:8888/lab-base/o16n/status');
    expect(lastCall().init.method).toBe('GET');
  });

  it('logs in again with an empty body (embedded mode, after a logout)', async () => {
    fetchMock.mockResolvedValue(reply(200, { connected: true, mode: 'embedded', url: 'http://x', user: { name: 'admin', role: 'Owner' }, server: {}, message: null }));
    const status = await api.loginAgain();
    expect(status.user?.name).toBe('admin');
    expect(lastCall().url).toBe('http://localhost:8888/lab-base/o16n/login');
    expect(lastCall().init.method).toBe('POST');
    expect(JSON.parse(lastCall().init.body as string)).toEqual({});
  });

  it('starts the OpenID Connect sign-ins with their method', async () => {
    fetchMock.mockResolvedValue(reply(200, { connected: false, mode: 'remote', url: 'http://x', user: null, server: null, message: null }));
    await api.loginWithDevice();
    expect(lastCall().url).toBe('http://localhost:8888/lab-base/o16n/login');
    expect(JSON.parse(lastCall().init.body as string)).toEqual({ method: 'device' });
    await api.loginWithClientCredentials();
    expect(JSON.parse(lastCall().init.body as string)).toEqual({ method: 'client_credentials' });
  });

  it('cancels a batch with DELETE on its execution', async () => {
    fetchMock.mockResolvedValue(reply(200, { deleted: true }));
    await api.cancelBatch('Iris', 'v1', 'e/1');
    expect(lastCall().url).toBe('http://localhost:8888/lab-base/o16n/services/Iris/v1/batch/e%2F1');
    expect(lastCall().init.method).toBe('DELETE');
  });

  it('tells a 401 (nobody logged in to o16n) from other errors', async () => {
    fetchMock.mockResolvedValue(reply(401, { message: 'not logged in', field: null, step: null }));
    const error = await api.listServices().catch(e => e);
    expect(isNotLoggedIn(error)).toBe(true);
    expect(isNotLoggedIn(new O16nApiError('gone', 502))).toBe(false);
    expect(isNotLoggedIn(new Error('x'))).toBe(false);
  });

  it('lists services with an encoded name filter', async () => {
    fetchMock.mockResolvedValue(reply(200, [{ name: 'Iris', version: 'v1' }]));
    const list = await api.listServices('Iris & co');
    expect(list).toHaveLength(1);
    expect(lastCall().url).toBe('http://localhost:8888/lab-base/o16n/services?name=Iris%20%26%20co');
  });

  it('sends JSON bodies with the content type', async () => {
    fetchMock.mockResolvedValue(reply(200, { success: true, outputParameters: { y: 2 }, elapsed: 0.01 }));
    await api.consume('Double', '1.0', { x: 1 });
    const { url, init } = lastCall();
    expect(url).toBe('http://localhost:8888/lab-base/o16n/services/Double/1.0/consume');
    expect(init.method).toBe('POST');
    expect(JSON.parse(init.body as string)).toEqual({ inputs: { x: 1 } });
    const headers = new Headers(init.headers);
    expect(headers.get('Content-Type')).toBe('application/json');
  });

  it('adds the XSRF token from the cookie (ServerConnection does it)', async () => {
    document.cookie = '_xsrf=token123';
    fetchMock.mockResolvedValue(reply(200, { deleted: true }));
    await api.deleteService('Iris', 'v1');
    const headers = new Headers(lastCall().init.headers);
    expect(headers.get('X-XSRFToken')).toBe('token123');
    expect(lastCall().init.method).toBe('DELETE');
  });

  it('encodes path segments', async () => {
    fetchMock.mockResolvedValue(reply(200, {}));
    await api.swagger('My Service', 'v1/2');
    expect(lastCall().url).toBe('http://localhost:8888/lab-base/o16n/services/My%20Service/v1%2F2/swagger');
    await api.kernelNamespace('abc-123');
    expect(lastCall().url).toBe('http://localhost:8888/lab-base/o16n/kernels/abc-123/namespace');
    await api.batchStatus('Iris', 'v1', 'e1');
    expect(lastCall().url).toBe('http://localhost:8888/lab-base/o16n/services/Iris/v1/batch/e1');
  });

  it('publishes and polls the job', async () => {
    fetchMock.mockResolvedValueOnce(reply(202, { jobId: 'j1' }));
    const { jobId } = await api.publish({
      kernelId: 'k',
      name: 'Iris',
      version: 'v1',
      description: '',
      code: 'y = x',
      inputs: [{ name: 'x', type: 'numeric' }],
      outputs: [{ name: 'y', type: 'numeric' }],
      objects: [],
      files: [],
      initCode: '',
      outputFileNames: []
    });
    expect(jobId).toBe('j1');
    fetchMock.mockResolvedValueOnce(reply(200, { state: 'running', step: 'capture', steps: [] }));
    const job = await api.publishJob('j1');
    expect(job.state).toBe('running');
    expect(lastCall().url).toBe('http://localhost:8888/lab-base/o16n/publish/j1');
  });

  it('asks the kernel to analyze code and to test it (relay routes of the contract)', async () => {
    fetchMock.mockResolvedValue(reply(200, { inputs: [], outputs: [], objects: [], function: null }));
    await api.analyze('k 1', { functionName: 'predict' });
    expect(lastCall().url).toBe('http://localhost:8888/lab-base/o16n/kernels/k%201/analyze');
    expect(lastCall().init.method).toBe('POST');
    expect(JSON.parse(lastCall().init.body as string)).toEqual({ functionName: 'predict' });
    fetchMock.mockResolvedValue(reply(200, { success: true, outputs: { y: 2 }, consoleOutput: '', errorMessage: null, elapsed: 0.1 }));
    const result = await api.testInKernel('k1', { code: 'y = x * 2', inputs: [{ name: 'x', type: 'integer', value: 1 }], outputs: [{ name: 'y', type: 'integer' }] });
    expect(result.outputs).toEqual({ y: 2 });
    expect(lastCall().url).toBe('http://localhost:8888/lab-base/o16n/kernels/k1/test');
  });

  it('lists the publish jobs of a notebook', async () => {
    fetchMock.mockResolvedValue(reply(200, [{ jobId: 'j1', state: 'failed' }]));
    expect((await api.publishJobs('work/iris.ipynb')).map(j => j.jobId)).toEqual(['j1']);
    expect(lastCall().url).toBe('http://localhost:8888/lab-base/o16n/publish?notebook=work%2Firis.ipynb');
    fetchMock.mockResolvedValue(reply(200, { jobs: [{ jobId: 'j2', state: 'done' }] }));
    expect((await api.publishJobs('a.ipynb')).map(j => j.jobId)).toEqual(['j2']);
  });

  it('turns error answers into O16nApiError with status, field and step', async () => {
    fetchMock.mockResolvedValue(reply(409, { message: 'Iris v1 exists', field: 'version', step: null }));
    const error = await api.updateDescription('Iris', 'v1', 'x').catch(e => e);
    expect(error).toBeInstanceOf(O16nApiError);
    expect(error.status).toBe(409);
    expect(error.field).toBe('version');
    expect(error.message).toBe('Iris v1 exists');
  });

  it('explains errors without a JSON body', async () => {
    fetchMock.mockResolvedValue(reply(502, ''));
    const error = await api.listServices().catch(e => e);
    expect(error.status).toBe(502);
    expect(error.message).toMatch(/502/);
  });

  it('reports a network failure', async () => {
    fetchMock.mockRejectedValue(new TypeError('Failed to fetch'));
    const error = await api.status().catch(e => e);
    expect(error).toBeInstanceOf(O16nApiError);
    expect(error.status).toBe(0);
  });
});
