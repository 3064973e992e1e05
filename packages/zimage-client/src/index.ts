export {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_CONTROL_TIMEOUT_MS,
  DEFAULT_IMAGE_TIMEOUT_MS,
  DEFAULT_MAX_RESPONSE_BYTES,
  type RequestKind,
  type RequestTimeouts,
  type ResolvedClientOptions,
  requestTimeouts,
} from "./client-options";
export * from "./errors";
export { modelIds, modelInfos } from "./model-ids";
export type {
  CallOptions,
  DiscoveredCapabilities,
  EditRequest,
  EditViaTaskOptions,
  GenerateRequest,
  HealthShape,
  ImageData,
  ImagesResponse,
  ModelInfo,
  PipelineFlags,
  ResponseFormat,
  TaskState,
  UpstreamHealth,
  UpstreamStatus,
  ZImageClientOptions,
} from "./types";
export { ZImageClient } from "./zimage-client";
