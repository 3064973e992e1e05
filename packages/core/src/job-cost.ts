import { DEFAULTS, parseSize } from "./job-request";

/** The fields of a job's parameters its GPU time depends on (request params or effective params). */
export interface CostParams {
  size?: string | undefined;
  n?: number | undefined;
  num_inference_steps?: number | undefined;
}

/**
 * A job's cost, the unit ETA is learned in: width × height × steps × n, in megapixel-steps
 * (1024x1024, 50 steps, n=1 ≈ 52.4). A diffusion model's time is one denoising step per image over
 * all pixels, so GPU time grows with this product (the simulator's time is exactly affine in it).
 * Missing fields take the gateway's defaults.
 */
export function jobCost(params: CostParams): number {
  const { width, height } = parseSize(params.size ?? DEFAULTS.size);
  const steps = params.num_inference_steps ?? DEFAULTS.steps;
  const n = params.n ?? 1;
  const cost = (width * height * steps * n) / 1_000_000;
  return Number.isFinite(cost) && cost > 0 ? cost : (1024 * 1024 * DEFAULTS.steps) / 1_000_000;
}

/**
 * The same cost in Lua, for scripts that read queued jobs' data in Redis (`queue-place.ts`):
 * `jobCost(dataJson)` decodes BullMQ's `data` field (our JobData) and applies `jobCost` above; a job
 * whose data cannot be read counts as the default job. Kept beside the TypeScript one, and checked
 * against it by job-cost.test.ts.
 */
export const JOB_COST_LUA = `
local DEFAULT_COST = ${(1024 * 1024 * DEFAULTS.steps) / 1_000_000}
local function jobCost(dataJson)
  if not dataJson then return DEFAULT_COST end
  local ok, data = pcall(cjson.decode, dataJson)
  if not ok or type(data) ~= "table" or type(data.params) ~= "table" then return DEFAULT_COST end
  local p = data.params
  local w, h = 1024, 1024
  if type(p.size) == "string" then
    local a, b = string.match(p.size, "^(%d+)x(%d+)$")
    if a then w, h = tonumber(a), tonumber(b) end
  end
  local steps = tonumber(p.num_inference_steps) or ${DEFAULTS.steps}
  local n = tonumber(p.n) or 1
  local cost = w * h * steps * n / 1000000
  if cost > 0 then return cost end
  return DEFAULT_COST
end
`;
