/**
 * /docs: a small self-contained renderer of /openapi.json. No CDN (the gateway may run offline) and
 * no inline script (the page's CSP allows only its own origin).
 */
export const DOCS_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Z-Image Gateway API</title><link rel="stylesheet" href="/docs/docs.css"></head>
<body><main><h1 id="title">Z-Image Gateway API</h1><p id="intro"></p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1).</p>
<nav aria-label="Endpoints"><ul id="toc"></ul></nav><div id="ops"></div></main>
<script src="/docs/docs.js"></script></body></html>`;

export const DOCS_CSS = `body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#15171a;background:#fafafa}
main{max-width:60rem;margin:0 auto;padding:1rem 1.25rem 4rem}h1{margin-bottom:.25rem}
section{background:#fff;border:1px solid #d6d9de;border-radius:8px;margin:1rem 0;padding:.75rem 1rem}
h2{font-size:1.05rem;margin:.2rem 0;font-family:ui-monospace,monospace}.m{display:inline-block;min-width:4.2rem;
padding:0 .4rem;margin-right:.5rem;border-radius:4px;color:#fff;text-align:center;font-size:.85rem}
.get{background:#1f6feb}.post{background:#1a7f37}.delete{background:#cf222e}.patch{background:#9a6700}
table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{border-top:1px solid #e3e5e8;padding:.25rem .4rem;text-align:left;vertical-align:top}
pre{background:#f3f4f6;padding:.5rem;overflow:auto;font-size:.8rem;max-height:22rem}details{margin:.4rem 0}
code{font-family:ui-monospace,monospace}a{color:#0a58ca}`;

export const DOCS_JS = `(async () => {
  const doc = await (await fetch("/openapi.json")).json();
  const el = (tag, text, cls) => { const e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; };
  const resolve = (s) => (s && s.$ref ? doc.components.schemas[s.$ref.split("/").pop()] : s);
  document.getElementById("title").textContent = doc.info.title + " " + doc.info.version;
  document.getElementById("intro").textContent = doc.info.description;
  const toc = document.getElementById("toc"), ops = document.getElementById("ops");
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const id = op.operationId || method + path;
      const li = el("li"); const a = el("a", method.toUpperCase() + " " + path); a.href = "#" + id; li.append(a); toc.append(li);
      const s = el("section"); s.id = id;
      const h = el("h2"); h.append(el("span", method.toUpperCase(), "m " + method), el("span", path)); s.append(h);
      if (op.summary) s.append(el("p", op.summary));
      if (op.description) s.append(el("p", op.description));
      if (op.security && op.security.length === 0) s.append(el("p", "No authentication."));
      if (op.parameters && op.parameters.length) {
        const t = el("table"); const hr = el("tr"); for (const c of ["parameter", "in", "required", "schema / description"]) hr.append(el("th", c)); t.append(hr);
        for (const p of op.parameters) { const r = el("tr"); r.append(el("td", p.name), el("td", p.in), el("td", p.required ? "yes" : "no"), el("td", JSON.stringify(p.schema) + (p.description ? " — " + p.description : ""))); t.append(r); }
        s.append(t);
      }
      if (op.requestBody) for (const [type, c] of Object.entries(op.requestBody.content)) {
        const d = el("details"); d.append(el("summary", "Request body: " + type), el("pre", JSON.stringify(resolve(c.schema), null, 2))); s.append(d);
      }
      const t = el("table"); for (const [code, r] of Object.entries(op.responses || {})) { const row = el("tr"); row.append(el("td", code), el("td", r.description || "")); t.append(row); }
      s.append(el("h3", "Responses"), t); ops.append(s);
    }
  }
})();`;
