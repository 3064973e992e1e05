import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { configSchema, loadConfig } from "@zimage/core";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { startTestApi, type TestApi } from "./helpers";

/**
 * deploy/kubernetes/, checked offline: every object against the Kubernetes API's JSON schemas (bundled
 * in kubernetes-models, no cluster), then against the gateway itself — the probes and scrape
 * annotations name paths and ports it serves, every variable is one it reads, the worker's grace
 * outlasts its own, the placeholders cannot start a gateway.
 */
const root = resolve(import.meta.dirname, "../../..");
const dir = resolve(root, "deploy/kubernetes");

// biome-ignore lint/suspicious/noExplicitAny: each model class takes its own shape; the schema checks it
type ModelClass = new (data: any) => { validate(): void };
const KINDS: Record<string, ModelClass> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "networking.k8s.io/v1/Ingress": Ingress,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
};

interface Container {
  name: string;
  image: string;
  command: string[];
  env?: Array<{ name: string; value?: string }>;
  envFrom?: Array<{ configMapRef?: { name: string }; secretRef?: { name: string } }>;
  ports: Array<{ name: string; containerPort: number }>;
  readinessProbe: { httpGet: { path: string; port: string | number } };
  livenessProbe: { httpGet: { path: string; port: string | number } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: Record<string, unknown>;
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: read per kind below
  spec?: any;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

// The manifests, and the example Secret kept in a subfolder so that `kubectl apply -f` on the folder skips it.
const objects: Array<K8sObject & { file: string }> = [
  ...readdirSync(dir).filter((f) => f.endsWith(".yaml")),
  "example/secret.yaml",
].flatMap((file) =>
  parseAllDocuments(readFileSync(resolve(dir, file), "utf8")).map((doc) => {
    expect(doc.errors, file).toEqual([]);
    return { ...(doc.toJS() as K8sObject), file };
  }),
);
const find = (kind: string, name: string) => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} in deploy/kubernetes/`);
  return o;
};
const configMap = find("ConfigMap", "zimage-gateway");
const secret = find("Secret", "zimage-gateway");
const api = find("Deployment", "zimage-api");
const worker = find("Deployment", "zimage-worker");
const container = (d: K8sObject): Container => d.spec.template.spec.containers[0];

/** What the container's process sees: its envFrom sources, then its own env (which wins). */
function podEnv(d: K8sObject, secretValues: Record<string, string> = {}): Record<string, string> {
  const c = container(d);
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) Object.assign(env, find("ConfigMap", from.configMapRef.name).data);
    if (from.secretRef) Object.assign(env, find("Secret", from.secretRef.name).stringData, secretValues);
  }
  for (const e of c.env ?? []) env[e.name] = e.value ?? "";
  return env;
}
/** A probe's or annotation's port: a number, or the name of one of the container's ports. */
function portNumber(c: Container, port: string | number): number {
  if (typeof port === "number") return port;
  const p = c.ports.find((x) => x.name === port);
  if (!p) throw new Error(`${c.name} has no port named ${port}`);
  return p.containerPort;
}
// Values a real deployment would put in the Secret (the placeholders are refused on purpose).
const filled = { ADMIN_API_KEY: "a".repeat(40) };

describe("deploy/kubernetes manifests", () => {
  it("are valid objects of known kinds by the Kubernetes API schema", () => {
    expect(objects.length).toBeGreaterThanOrEqual(7);
    for (const o of objects) {
      const Kind = KINDS[`${o.apiVersion}/${o.kind}`];
      expect(Kind, `${o.file}: ${o.apiVersion} ${o.kind}`).toBeDefined();
      const { file, ...body } = o;
      expect(
        () => new (Kind as ModelClass)(body).validate(),
        `${file}: ${o.kind} ${o.metadata.name}`,
      ).not.toThrow();
    }
    // The schema check does catch a wrong type (the validator is not a no-op).
    const broken = structuredClone(api);
    broken.spec.template.spec.containers[0].ports[0].containerPort = "8080";
    expect(() => new Deployment(broken).validate()).toThrow(/containerPort must be integer/);
  });

  it("use only variables the gateway reads, in a combination it accepts", () => {
    const known = (k: string) => k in configSchema.shape;
    for (const d of [api, worker]) {
      const env = podEnv(d, filled);
      expect(
        Object.keys(env).filter((k) => !known(k)),
        d.metadata.name,
      ).toEqual([]);
      const config = loadConfig(env);
      expect(config.STORAGE).toBe("s3");
      expect(config.redis.kind).toBe("sentinel");
    }
    expect(Object.keys(secret.stringData ?? {}).filter((k) => !known(k))).toEqual([]);
  });

  it("hold placeholders, never usable secrets: an unedited Secret stops the api at start-up", () => {
    for (const value of Object.values(secret.stringData ?? {})) expect(value).toMatch(/CHANGE-ME/);
    // Keys, passwords and URLs (which may carry one) go in the Secret, not the ConfigMap.
    const secretLike = Object.keys(configMap.data ?? {}).filter((k) =>
      /KEY|TOKEN|SECRET|PASSWORD|^REDIS_URL$/.test(k),
    );
    expect(secretLike).toEqual([]);
    expect(() => loadConfig(podEnv(api))).toThrow(/ADMIN_API_KEY: must be at least 32 characters/);
  });

  it("run the image's entry points as a non-root user on a read-only root filesystem", () => {
    const dockerfile = readFileSync(resolve(root, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^CMD \["node", "apps\/api\/dist\/main\.js"\]$/m);
    expect(dockerfile).toMatch(/node apps\/worker\/dist\/main\.js/);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(container(api).command).toEqual(["node", "apps/api/dist/main.js"]);
    expect(container(worker).command).toEqual(["node", "apps/worker/dist/main.js"]);
    expect(container(worker).image).toBe(container(api).image);
    for (const d of [api, worker]) {
      const pod = d.spec.template.spec;
      // `node` is uid 1000 in the node images; a numeric uid is what lets the kubelet enforce runAsNonRoot.
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(container(d).securityContext).toMatchObject({
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
      });
      expect(container(d).resources?.requests, d.metadata.name).toBeDefined();
      expect(container(d).resources?.limits?.memory, d.metadata.name).toBeDefined();
    }
    expect(api.spec.replicas).toBe(2);
  });

  it("give the worker longer to stop than it takes to finish the image in flight", () => {
    const grace = worker.spec.template.spec.terminationGracePeriodSeconds;
    expect(grace).toBeGreaterThan(loadConfig(podEnv(worker, filled)).SHUTDOWN_GRACE_SECONDS);
    expect(grace).toBeGreaterThan(loadConfig({}).SHUTDOWN_GRACE_SECONDS);
  });

  it("probe and scrape the ports the api and the worker listen on", () => {
    const apiConfig = loadConfig(podEnv(api, filled));
    const workerConfig = loadConfig(podEnv(worker, filled));
    expect(apiConfig.HOST).toBe("0.0.0.0");
    expect(workerConfig.WORKER_METRICS_HOST).toBe("0.0.0.0");
    const expected = [
      { d: api, port: apiConfig.PORT, ready: "/ready", live: "/health" },
      { d: worker, port: workerConfig.WORKER_METRICS_PORT, ready: "/ready", live: "/health" },
    ];
    for (const { d, port, ready, live } of expected) {
      const c = container(d);
      expect(c.readinessProbe.httpGet.path, d.metadata.name).toBe(ready);
      expect(c.livenessProbe.httpGet.path, d.metadata.name).toBe(live);
      expect(portNumber(c, c.readinessProbe.httpGet.port), d.metadata.name).toBe(port);
      expect(portNumber(c, c.livenessProbe.httpGet.port), d.metadata.name).toBe(port);
      expect(d.spec.template.metadata.annotations).toEqual({
        "prometheus.io/scrape": "true",
        "prometheus.io/port": String(port),
        "prometheus.io/path": "/metrics",
      });
    }
    // The defaults agree too, so dropping the explicit PORT / WORKER_METRICS_PORT changes nothing.
    expect(apiConfig.PORT).toBe(loadConfig({}).PORT);
    expect(workerConfig.WORKER_METRICS_PORT).toBe(loadConfig({}).WORKER_METRICS_PORT);
  });

  it("wire the Service, Ingress, budget and autoscaler to the api's pods", () => {
    const labels = api.spec.template.metadata.labels;
    expect(api.spec.selector.matchLabels).toEqual(labels);
    expect(worker.spec.selector.matchLabels).toEqual(worker.spec.template.metadata.labels);
    const service = find("Service", "zimage-api");
    expect(service.spec.selector).toEqual(labels);
    const [servicePort] = service.spec.ports;
    expect(portNumber(container(api), servicePort.targetPort)).toBe(loadConfig(podEnv(api, filled)).PORT);
    const backend = find("Ingress", "zimage-api").spec.rules[0].http.paths[0].backend.service;
    expect(backend).toEqual({ name: "zimage-api", port: { name: servicePort.name } });
    expect(find("PodDisruptionBudget", "zimage-api").spec.selector.matchLabels).toEqual(labels);
    const hpa = find("HorizontalPodAutoscaler", "zimage-api").spec;
    expect(hpa.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: "zimage-api" });
    expect(hpa.minReplicas).toBeGreaterThanOrEqual(api.spec.replicas);
  });

  describe("against the real api", () => {
    let running: TestApi;
    beforeAll(async () => {
      running = await startTestApi({ adminKey: filled.ADMIN_API_KEY });
    });
    afterAll(() => running.close());

    it("the api answers its probes and its scrape path", async () => {
      const c = container(api);
      const paths = [
        c.readinessProbe.httpGet.path,
        c.livenessProbe.httpGet.path,
        api.spec.template.metadata.annotations["prometheus.io/path"],
      ];
      for (const path of paths) {
        const res = await fetch(`${running.url}${path}`);
        expect(res.status, path).toBe(200);
      }
    });
  });
});
