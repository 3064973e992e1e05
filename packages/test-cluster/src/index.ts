export { type Cluster, type ClusterOptions, FAST_ENV, type JobView, startCluster } from "./cluster";
