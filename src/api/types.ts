/**
 * Types of the Jupyter server extension's REST API (`/o16n/...`), see docs/jupyter-api.md.
 * Names and shapes follow the o16n (R Server 9.1 compatible) API as the extension relays it.
 */

import { WireType } from '../common/wireTypes';

export { WireType };

export interface IParameterDefinition {
  name: string;
  type: WireType;
}

export interface IWebService {
  name: string;
  version: string;
  versionPublishedBy?: string;
  creationTime?: string;
  snapshotId?: string | null;
  runtimeType?: 'R' | 'Python' | 'Realtime' | string;
  initCode?: string | null;
  code?: string | null;
  description?: string | null;
  operationId?: string | null;
  inputParameterDefinitions?: IParameterDefinition[];
  outputParameterDefinitions?: IParameterDefinition[];
  outputFileNames?: string[];
  myPermissionOnService?: 'read/write' | 'read only' | string;
  /** A 9.0 leftover some servers still send. */
  owner?: string;
  /** o16n: the service's own environment (null: the server's own) */
  environment?: IServiceEnvironment | null;
  /** o16n: a realtime service's ONNX model, its inputs and outputs */
  model?: IRealtimeModel | null;
}

/** The environment a service runs in (o16n extension of the service views). */
export interface IServiceEnvironment {
  key: string;
  python: string;
  /** requirement strings, normally `name==version` */
  packages: string[];
}

export interface IModelTensor {
  name: string;
  type: string;
  shape: (number | string | null)[] | null;
}

/** The ONNX model of a realtime service (`runtimeType: "Realtime"`). */
export interface IRealtimeModel {
  inputs: IModelTensor[];
  outputs: IModelTensor[];
  sizeBytes: number | null;
}

/** An environment built by the o16n server (`GET /o16n/environments`). */
export interface IEnvironment {
  key: string;
  python: string;
  packages: string[];
  state: 'building' | 'ready' | 'failed';
  progress: string | null;
  message: string | null;
  sizeBytes: number | null;
  buildSeconds: number | null;
  services: { name: string; version: string }[];
  createdAt?: string;
  lastUsedAt?: string;
}

export interface IStatusUser {
  name: string;
  /** null when the API cannot tell (remote mode) */
  role: string | null;
}

/** How the user signs in to o16n (`provider`) and where their role came from, from its `/users/me`. */
export interface IAccount {
  /** `local`, `ldap` or `oidc` */
  provider: string | null;
  displayName: string | null;
  /** e.g. `ldap group cn=o16n-admins,ou=groups,...`, `oidc claim roles o16n-owners` */
  roleSource: string | null;
}

/** A device-code sign-in waiting for the user (RFC 8628): where to go and the code to enter. */
export interface IDevicePrompt {
  userCode: string;
  verificationUri: string;
  /** the verification page with the code filled in, when the provider offers one */
  verificationUriComplete: string | null;
  /** ISO 8601, UTC */
  expiresAt: string;
  /** seconds between the relay's polls of the provider */
  interval: number;
}

export type LoginState = 'starting' | 'logged out' | 'waiting for device sign-in' | 'logged in' | 'failed';

/** What `POST /o16n/login` takes here: `admin` (embedded), `password`, an OpenID Connect flow. */
export type LoginMethod = 'admin' | 'password' | 'device' | 'client_credentials';

/** `GET /o16n/status`: always answered (200); `connected: false` comes with a `message`. */
export interface IStatus {
  connected: boolean;
  mode: 'embedded' | 'remote';
  url: string;
  /** null when nobody is logged in */
  user: IStatusUser | null;
  /** how the user signed in; null when nobody is or the o16n server cannot tell */
  account?: IAccount | null;
  server: Record<string, unknown> | null;
  /** why we are not connected (server unreachable or starting, not logged in) */
  message: string | null;
  login?: LoginState;
  loginMethods?: LoginMethod[];
  /** set while `login` is `waiting for device sign-in` */
  device?: IDevicePrompt | null;
  /** embedded mode: the embedded server's port and the file holding its admin password */
  embedded?: IEmbeddedServer | null;
}

export interface IEmbeddedServer {
  port: number;
  passwordFile: string | null;
}

/** A `WebServiceResult` of the o16n API plus the time the call took. */
export interface IServiceResult {
  success: boolean;
  errorMessage?: string | null;
  consoleOutput?: string | null;
  changedFiles?: string[];
  /** output name -> Base64 content (null when the service did not write it). */
  outputFiles?: Record<string, string | null> | null;
  outputParameters?: Record<string, unknown> | null;
  /** seconds */
  elapsed?: number;
}

export interface IBatchStatus {
  state: string;
  completedItemCount: number;
  totalItemCount: number;
  /** index-aligned with the records; an item not finished yet is null in partial results */
  batchExecutionResults: (IServiceResult | null)[];
}

/** A kernel object: a value of the notebook's kernel that a service can carry (dill-serialized). */
export interface IKernelObject {
  name: string;
  type: string;
  size: number | null;
  shape?: number[] | string | null;
  /** null when the listing ran out of time before checking */
  picklable: boolean | null;
  reason?: string | null;
  /** a fitted scikit-learn estimator or pipeline, or an ONNX model: it can be published as a realtime service */
  estimator?: boolean;
}

export type ParameterKind = 'POSITIONAL_OR_KEYWORD' | 'KEYWORD_ONLY' | 'POSITIONAL_ONLY';

export interface IFunctionParameter {
  name: string;
  /** the o16n wire type when the Python annotation maps to one, else the Python name, or null */
  annotation: string | null;
  /** the default's Python `repr`, null when there is none */
  default: string | null;
  kind: ParameterKind;
  /** the Python annotation's name (null without annotation) */
  pythonType: string | null;
}

export interface IKernelFunction {
  name: string;
  signature: string;
  parameters: IFunctionParameter[];
  /** like `annotation`: the wire type of the return annotation when it maps */
  returns: string | null;
  pythonReturns: string | null;
  doc: string | null;
}

/** `GET /o16n/kernels/{id}/namespace` */
export interface IKernelNamespace {
  objects: IKernelObject[];
  functions: IKernelFunction[];
}

/**
 * `POST /o16n/kernels/{id}/analyze`: the cell code, or a kernel function. `objects`: the kernel
 * objects the user chose to ship (the other kernel values the code reads become typed inputs).
 */
export type IAnalyzeRequest = { code: string; objects?: string[] } | { functionName: string };

export interface IGuessedParameter {
  name: string;
  type: WireType;
  /** why it was guessed ("read before assigned", "annotation float") */
  reason: string | null;
}

export interface IGuessedObject {
  name: string;
  /** why it is needed ("used by predict") */
  reason: string | null;
}

export interface IAnalysis {
  inputs: IGuessedParameter[];
  outputs: IGuessedParameter[];
  /** kernel objects the code (or the function and the functions it calls) reads */
  objects: IGuessedObject[];
  /** names that are neither: a module or an imported class ("import it in the service code"), an undefined global */
  notes?: IGuessedObject[];
  function: IKernelFunction | null;
  /** the kernel's environment for the code and the objects (absent from relays that do not capture it) */
  environment?: ICapturedEnvironment | null;
}

/** A distribution the service needs, as the kernel has it, and the o16n server's version of it. */
export interface ICapturedPackage {
  name: string;
  version: string;
  /** the o16n server's version; null: the server does not have it; absent: the server could not say */
  serverVersion?: string | null;
  /** why it is there: "provides sklearn (clf is a sklearn.svm.SVC)", "required by scikit-learn" */
  reason: string | null;
  /** the objects or the code use it themselves (false: another package requires it) */
  direct?: boolean;
}

export interface ICapturedEnvironment {
  /** the kernel's Python, "3.13.1" (null when the kernel could not say) */
  python: string | null;
  packages: ICapturedPackage[];
  /** what could not be pinned: a module from no installed distribution, a package installed from a URL */
  notes?: string[];
  /** every package the o16n server has (normalized name -> version); null or absent: the server could not say */
  serverPackages?: Record<string, string> | null;
}

/** An environment spec: built by the o16n server, keyed by the hash of the Python version and the sorted pins. */
export interface IEnvironmentSpec {
  python: string;
  packages: string[];
}

/** An input of a test, checked and converted by the relay as the o16n server's workers do. */
export interface ITestInput {
  name: string;
  type: WireType;
  value: unknown;
}

/** `POST /o16n/kernels/{id}/test`: runs in the kernel on a copy of its namespace. */
export interface ITestRequest {
  code?: string;
  functionName?: string;
  initCode?: string;
  inputs: ITestInput[];
  outputs: IParameterDefinition[];
}

export interface ITestResult {
  success: boolean;
  outputs: Record<string, unknown>;
  consoleOutput: string;
  errorMessage: string | null;
  /** seconds */
  elapsed: number;
}

export interface IPublishRequest {
  kind?: 'script';
  kernelId: string;
  name: string;
  /** omitted: the o16n server generates one (a UUID, in the job's `service.version`) */
  version?: string;
  description: string;
  code?: string;
  functionName?: string;
  inputs: IParameterDefinition[];
  outputs: IParameterDefinition[];
  /** kernel objects to serialize into the service's snapshot */
  objects: string[];
  files: string[];
  initCode: string;
  outputFileNames: string[];
  /** the swagger operationId; defaults on the server to the function name */
  operationId?: string;
  /** the notebook's path: the relay keeps it with the job (GET /o16n/publish?notebook=) */
  notebook?: string;
  /** the service's own environment; null: the server's own (absent: the same) */
  environment?: IEnvironmentSpec | null;
}

/** `POST /o16n/publish` with `kind: "realtime"`: a kernel variable holding a fitted estimator or an ONNX model. */
export interface IRealtimePublishRequest {
  kind: 'realtime';
  kernelId: string;
  name: string;
  version?: string;
  description?: string;
  operationId?: string;
  /** the kernel variable holding the model */
  model: string;
  /** a kernel variable (a frame or an array) whose columns and dtypes give the model's input schema */
  sample?: string;
  notebook?: string;
}

export type AnyPublishRequest = IPublishRequest | IRealtimePublishRequest;

export type PublishStepName = 'capture' | 'environment' | 'convert' | 'upload' | 'files' | 'snapshot' | 'publish' | 'cleanup' | string;

/** `skipped`: nothing to do (`files` without files); a failed `cleanup` still ends a `done` job. */
export type PublishStepState = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export interface IPublishStep {
  name: PublishStepName;
  state: PublishStepState;
  detail?: string | null;
}

export interface IPublishError {
  step: string | null;
  message: string;
  field: string | null;
  /** the HTTP status the failure would have had (401: not logged in to o16n) */
  status: number | null;
}

export interface IPublishJob {
  jobId: string;
  state: 'running' | 'done' | 'failed';
  step: string | null;
  steps: IPublishStep[];
  bytesUploaded: number;
  totalBytes: number;
  service: IWebService | null;
  error: IPublishError | null;
  /** objects that could not be serialized (name -> reason); the others were published */
  notCaptured: Record<string, string>;
  /** seconds since the job started (until it ended) */
  elapsed: number;
  /** what the job publishes, and from which notebook */
  name?: string;
  version?: string | null;
  notebook?: string | null;
  startedAt?: string;
  /** 'script' (default) or 'realtime' */
  kind?: string;
  /** realtime: the converted model's inputs and outputs */
  model?: IRealtimeModel | null;
  /** the environment the server built for the service (an Environment), when the publish had one */
  environment?: IEnvironment | null;
  /**
   * published without an environment: the packages the objects come from whose kernel version
   * differs from the server's (serverVersion null: the server lacks it)
   */
  versionSkew?: IVersionSkew[];
}

export interface IVersionSkew {
  name: string;
  kernelVersion: string;
  serverVersion: string | null;
}

/** A swagger 2.0 document (only the parts the views read are typed). */
export interface ISwaggerDocument {
  swagger?: string;
  info?: { title?: string; version?: string; description?: string };
  host?: string;
  basePath?: string;
  paths?: Record<string, Record<string, ISwaggerOperation>>;
  definitions?: Record<string, ISchema>;
  [key: string]: unknown;
}

export interface ISwaggerParameter {
  name: string;
  in: string;
  required?: boolean;
  type?: string;
  description?: string;
  schema?: ISchema;
}

export interface ISwaggerOperation {
  operationId?: string;
  summary?: string;
  description?: string;
  tags?: string[];
  parameters?: ISwaggerParameter[];
  responses?: Record<string, { description?: string; schema?: ISchema }>;
}

export interface ISchema {
  $ref?: string;
  type?: string;
  description?: string;
  format?: string;
  properties?: Record<string, ISchema>;
  items?: ISchema;
  additionalProperties?: ISchema | boolean;
  required?: string[];
  enum?: unknown[];
}
