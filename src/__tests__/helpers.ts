/** Test doubles: an O16nApi whose methods are jest mocks, and a host. */
import { O16nApi } from '../api/client';
import { IO16nHost } from '../common/host';

export type MockApi = { [K in keyof O16nApi]: O16nApi[K] extends (...a: any[]) => any ? jest.Mock : O16nApi[K] };

export function mockApi(overrides: Partial<Record<keyof O16nApi, jest.Mock>> = {}): MockApi & O16nApi {
  const api = {
    status: jest.fn().mockResolvedValue({
      connected: true,
      mode: 'embedded',
      url: 'http://localhost:12800',
      user: { name: 'admin', role: 'Owner' },
      server: {},
      message: null
    }),
    login: jest.fn(),
    loginAgain: jest.fn(),
    loginWithDevice: jest.fn(),
    loginWithClientCredentials: jest.fn(),
    logout: jest.fn(),
    listServices: jest.fn().mockResolvedValue([]),
    getService: jest.fn(),
    updateDescription: jest.fn(),
    deleteService: jest.fn().mockResolvedValue({ deleted: true }),
    swagger: jest.fn(),
    consume: jest.fn(),
    startBatch: jest.fn(),
    batchStatus: jest.fn(),
    cancelBatch: jest.fn(),
    kernelNamespace: jest.fn().mockResolvedValue({ objects: [], functions: [] }),
    analyze: jest.fn().mockResolvedValue({ inputs: [], outputs: [], objects: [], function: null }),
    testInKernel: jest.fn().mockResolvedValue({ success: true, outputs: {}, consoleOutput: '', errorMessage: null, elapsed: 0.01 }),
    publish: jest.fn(),
    publishJob: jest.fn(),
    publishJobs: jest.fn().mockResolvedValue([]),
    environments: jest.fn().mockResolvedValue([]),
    url: jest.fn((p: string) => `/o16n/${p}`),
    ...overrides
  };
  return api as unknown as MockApi & O16nApi;
}

export function mockHost(overrides: Partial<Record<keyof IO16nHost, jest.Mock>> = {}): { [K in keyof IO16nHost]: jest.Mock } {
  return {
    currentNotebook: jest.fn().mockReturnValue({ path: 'work/iris.ipynb', kernelId: 'k1', selectedCode: '' }),
    listFiles: jest.fn().mockResolvedValue([]),
    runInKernel: jest.fn().mockResolvedValue({ stdout: '', error: null }),
    insertConsumeCell: jest.fn().mockReturnValue(true),
    openService: jest.fn(),
    confirm: jest.fn().mockResolvedValue(true),
    servicesChanged: jest.fn(),
    readPublishTarget: jest.fn().mockReturnValue(null),
    writePublishTarget: jest.fn(),
    ...overrides
  };
}
