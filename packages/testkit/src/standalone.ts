// Everything in testkit that does not need a running vitest (the benchmark and the cluster harness use it from plain Node).
export { freePort } from "./free-port";
export { type H2TlsServer, startH2TlsServer } from "./h2-tls-server";
export { makePng, pngSize } from "./png";
export { type RunningProcess, startProcess } from "./process";
export { type PrivateRedis, startRedis } from "./redis-server";
export {
  type PrivateRedisCluster,
  type PrivateRedisSentinel,
  startRedisCluster,
  startRedisSentinel,
} from "./redis-topologies";
export { type PrivateS3, S3RVER_CREDENTIALS, startS3 } from "./s3-server";
export { type CutMode, startTcpProxy, type TcpProxy } from "./tcp-proxy";
export {
  removeLeftoverVirtualHosts,
  startVirtualHosts,
  type VirtualHost,
  type VirtualHosts,
  virtualHostsUnavailable,
} from "./virtual-hosts";
export { waitFor } from "./wait-for";
