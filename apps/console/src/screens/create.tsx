import { DEFAULTS, editRequestSchema, generateRequestSchema, SIZE_LIMITS } from "@zimage/core/job-request";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, describeError, jobsApi } from "../api";
import { errorsFrom, type Field, type FieldErrors } from "../field-errors";
import { SIZE_PRESETS } from "../format";
import { navigate } from "../router";

type Errors = FieldErrors;

const CUSTOM = "custom";
const SAME_AS_INPUT = "input";
const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

/** Props that tie an input to its error message for screen readers. */
const described = (errors: Errors, field: Field) =>
  errors[field] ? { "aria-invalid": "true" as const, "aria-describedby": `${field}-error` } : {};

function FieldError({ errors, field }: { errors: Errors; field: Field }) {
  return errors[field] ? (
    <p id={`${field}-error`} class="field-error">
      {errors[field]}
    </p>
  ) : null;
}

/** One side of a custom size, with the API's bounds as the input's own. */
function SideInput(props: {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  errors: Errors;
}) {
  return (
    <div>
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        type="number"
        inputMode="numeric"
        min={SIZE_LIMITS.min}
        max={SIZE_LIMITS.max}
        step={SIZE_LIMITS.multiple}
        value={props.value}
        onInput={(e) => props.onChange(e.currentTarget.value)}
        {...described(props.errors, "size")}
      />
    </div>
  );
}

export function CreateScreen({ onSubmitted }: { onSubmitted: (message: string) => void }) {
  const [prompt, setPrompt] = useState("");
  const [negative, setNegative] = useState("");
  const [size, setSize] = useState<string>(DEFAULTS.size);
  const [width, setWidth] = useState("1024");
  const [height, setHeight] = useState("1024");
  // Left empty, steps and guidance are left out of the request: the upstream's own defaults apply
  // (ZIMAGE_UPSTREAMS `steps`, `guidance`; a Turbo upstream refuses 50 steps), else the gateway's.
  const [steps, setSteps] = useState("");
  const [guidance, setGuidance] = useState("");
  const [n, setN] = useState("1");
  const [priority, setPriority] = useState("interactive");
  const [cancelAfter, setCancelAfter] = useState("");
  const [image, setImage] = useState<File | null>(null);
  const [preview, setPreview] = useState<{ url: string; width: number; height: number } | null>(null);
  const [dragging, setDragging] = useState(false);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const fileInput = useRef<HTMLInputElement>(null);

  const isEdit = image !== null;
  const defaultGuidance = isEdit ? DEFAULTS.editGuidance : DEFAULTS.generateGuidance;

  useEffect(() => () => preview && URL.revokeObjectURL(preview.url), [preview]);

  const chooseImage = (file: File | undefined) => {
    if (!file) return;
    if (file.type !== "image/png" && file.type !== "image/jpeg") {
      setErrors({ image: "choose a PNG or JPEG image" });
      return;
    }
    if (file.size > MAX_IMAGE_BYTES) {
      setErrors({ image: "the image is larger than 20 MB" });
      return;
    }
    const url = URL.createObjectURL(file);
    const probe = new Image();
    probe.onload = () => {
      setPreview({ url, width: probe.naturalWidth, height: probe.naturalHeight });
      setImage(file);
      setSize(SAME_AS_INPUT);
      setErrors({});
    };
    probe.onerror = () => {
      URL.revokeObjectURL(url);
      setErrors({ image: "this file could not be read as an image" });
    };
    probe.src = url;
  };

  const removeImage = () => {
    setImage(null);
    setPreview(null);
    if (size === SAME_AS_INPUT) setSize(DEFAULTS.size);
    if (fileInput.current) fileInput.current.value = "";
  };

  /** The request as the API would receive it (numbers as numbers), without the fields left empty. */
  const body = () => {
    const out: Record<string, unknown> = { prompt };
    if (negative.trim()) out.negative_prompt = negative;
    if (size === CUSTOM) out.size = `${width.trim()}x${height.trim()}`;
    else if (size !== SAME_AS_INPUT) out.size = size;
    const num = (v: string) => (v.trim() === "" ? undefined : Number(v));
    if (num(steps) !== undefined) out.num_inference_steps = num(steps);
    if (num(guidance) !== undefined) out.guidance_scale = num(guidance);
    if (num(n) !== undefined) out.n = num(n);
    // Interactive is the default: left out, so a batch-only key gets its own default (batch).
    if (priority !== "interactive") out.priority = priority;
    if (num(cancelAfter) !== undefined) out.cancel_after = num(cancelAfter);
    return out;
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    const request = body();
    // The API's own schema, so the messages here are the ones the API would send.
    const checked = (isEdit ? editRequestSchema : generateRequestSchema).safeParse(request);
    if (!checked.success) {
      setErrors(
        errorsFrom(checked.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }))),
      );
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      let job: { id: string; queue_position: number | null };
      if (image) {
        const form = new FormData();
        for (const [k, v] of Object.entries(request)) form.set(k, String(v));
        form.set("image", image, image.name);
        job = await jobsApi.submitForm(form);
      } else {
        job = await jobsApi.submitJson(request);
      }
      onSubmitted(
        `Job ${job.id} queued${job.queue_position ? `, #${job.queue_position} in line` : ""}. Follow it below.`,
      );
      navigate("jobs");
    } catch (err) {
      if (err instanceof ApiError && err.details.length) setErrors(errorsFrom(err.details));
      else if (err instanceof ApiError && (err.status === 413 || err.status === 415))
        setErrors({ image: err.message });
      else setErrors({ form: describeError(err) });
    } finally {
      setBusy(false);
    }
  };

  const sizeError = errors.size;
  return (
    <section>
      <h1>Create</h1>
      <p class="muted lead">
        Describe an image, or drop one in to change it. Jobs run one at a time per GPU.
      </p>
      <form class="card create" onSubmit={submit} noValidate>
        <div class="field wide">
          <label for="prompt">Prompt</label>
          <textarea
            id="prompt"
            rows={4}
            value={prompt}
            onInput={(e) => setPrompt(e.currentTarget.value)}
            placeholder="a lighthouse at dusk, a sign that says “open”"
            {...described(errors, "prompt")}
          />
          <FieldError errors={errors} field="prompt" />
        </div>
        <div class="field wide">
          <label for="negative_prompt">Negative prompt</label>
          <input
            id="negative_prompt"
            value={negative}
            onInput={(e) => setNegative(e.currentTarget.value)}
            placeholder="what to keep out (optional)"
            {...described(errors, "negative_prompt")}
          />
          <FieldError errors={errors} field="negative_prompt" />
        </div>

        <fieldset
          class={`drop wide${dragging ? " over" : ""}`}
          onDragOver={(e) => {
            e.preventDefault();
            setDragging(true);
          }}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => {
            e.preventDefault();
            setDragging(false);
            chooseImage(e.dataTransfer?.files[0]);
          }}
        >
          <legend>Image-to-image</legend>
          <label for="image">Input image</label>
          <p class="hint" id="image-hint">
            Optional, for image-to-image: drop a PNG or JPEG here, or choose one.
          </p>
          <input
            id="image"
            ref={fileInput}
            type="file"
            accept="image/png,image/jpeg"
            onChange={(e) => chooseImage(e.currentTarget.files?.[0])}
            aria-describedby={errors.image ? "image-error" : "image-hint"}
            aria-invalid={errors.image ? "true" : undefined}
          />
          <FieldError errors={errors} field="image" />
          {preview && (
            <div class="preview">
              <img src={preview.url} alt="Preview of the input" />
              <div>
                <p>
                  {image?.name} · {preview.width} × {preview.height}
                </p>
                <button type="button" class="ghost" onClick={removeImage}>
                  Remove image
                </button>
              </div>
            </div>
          )}
        </fieldset>

        <div class="field">
          <label for="size">Size</label>
          <select
            id="size"
            value={size}
            onChange={(e) => setSize(e.currentTarget.value)}
            {...(size !== CUSTOM ? described(errors, "size") : {})}
          >
            {isEdit && preview && (
              <option value={SAME_AS_INPUT}>
                Same as the input ({preview.width} × {preview.height})
              </option>
            )}
            {SIZE_PRESETS.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
            <option value={CUSTOM}>Custom…</option>
          </select>
          {size !== CUSTOM && <FieldError errors={errors} field="size" />}
        </div>
        {size === CUSTOM && (
          <fieldset class="field custom-size">
            <legend>Custom size</legend>
            <div class="pair">
              <SideInput id="width" label="Width" value={width} onChange={setWidth} errors={errors} />
              <SideInput id="height" label="Height" value={height} onChange={setHeight} errors={errors} />
            </div>
            <p class="hint">
              {SIZE_LIMITS.min}–{SIZE_LIMITS.max} pixels, each side divisible by {SIZE_LIMITS.multiple}.
            </p>
            {sizeError && (
              <p id="size-error" class="field-error">
                {sizeError}
              </p>
            )}
          </fieldset>
        )}
        <div class="field">
          <label for="steps">Steps</label>
          <input
            id="steps"
            type="number"
            inputMode="numeric"
            min={1}
            max={100}
            value={steps}
            placeholder={String(DEFAULTS.steps)}
            onInput={(e) => setSteps(e.currentTarget.value)}
            {...described(errors, "num_inference_steps")}
          />
          <FieldError errors={errors} field="num_inference_steps" />
        </div>
        <div class="field">
          <label for="guidance">Guidance</label>
          <input
            id="guidance"
            type="number"
            inputMode="decimal"
            min={0}
            max={20}
            step={0.1}
            value={guidance}
            placeholder={String(defaultGuidance)}
            onInput={(e) => setGuidance(e.currentTarget.value)}
            {...described(errors, "guidance_scale")}
          />
          <FieldError errors={errors} field="guidance_scale" />
        </div>
        <div class="field">
          <label for="n">Number of images</label>
          <input
            id="n"
            type="number"
            inputMode="numeric"
            min={1}
            max={4}
            value={n}
            onInput={(e) => setN(e.currentTarget.value)}
            {...described(errors, "n")}
          />
          <FieldError errors={errors} field="n" />
        </div>
        <div class="field">
          <label for="priority">Priority</label>
          <select id="priority" value={priority} onChange={(e) => setPriority(e.currentTarget.value)}>
            <option value="interactive">Interactive (runs first)</option>
            <option value="batch">Batch (after interactive jobs)</option>
          </select>
          <FieldError errors={errors} field="priority" />
        </div>
        <div class="field">
          <label for="cancel_after">Cancel after (seconds)</label>
          <input
            id="cancel_after"
            type="number"
            inputMode="numeric"
            min={1}
            value={cancelAfter}
            placeholder="no deadline"
            onInput={(e) => setCancelAfter(e.currentTarget.value)}
            {...described(errors, "cancel_after")}
          />
          <FieldError errors={errors} field="cancel_after" />
        </div>
        <div class="wide submit-row">
          {errors.form && <p role="alert">{errors.form}</p>}
          <button type="submit" disabled={busy}>
            {busy ? "Submitting…" : "Submit job"}
          </button>
          <span class="muted">{isEdit ? "image-to-image" : "text-to-image"}</span>
        </div>
      </form>
    </section>
  );
}
