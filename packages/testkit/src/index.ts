export * from "./standalone";
export { usePrivateRedis } from "./use-private-redis";
