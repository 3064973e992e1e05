export { freePort } from "./free-port";
export { makePng, pngSize } from "./png";
export { type RunningProcess, startProcess } from "./process";
export { type PrivateRedis, startRedis } from "./redis-server";
export { usePrivateRedis } from "./use-private-redis";
export { waitFor } from "./wait-for";
