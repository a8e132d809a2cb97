// The API client every page uses: the bearer token (kept in session storage), JSON errors turned into
// exceptions that carry the server's message and the field it names, uploads, jobs and their events.
const TOKEN_KEY = 'visage.token';

export function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }
export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY);
}

/** An answer of the API that is not a success: its message is the server's own words. */
export class APIError extends Error {
  constructor(status, message, field, code, models) {
    super(message);
    this.status = status; this.field = field; this.code = code; this.models = models;
  }
}

const tokenListeners = [];
/** Called when the server answers 401: the page asks for a token. */
export function onTokenNeeded(listener) { tokenListeners.push(listener); }

function headersWithToken(headers = {}) {
  const out = { ...headers };
  if (token()) out.Authorization = `Bearer ${token()}`;
  return out;
}

/** A URL an <img>, <video> or WebSocket can use on a tokened server (they cannot send headers). */
export function withToken(url) {
  if (!token()) return url;
  return url + (url.includes('?') ? '&' : '?') + 'access_token=' + encodeURIComponent(token());
}

async function failure(response) {
  let body = {};
  try { body = await response.json(); } catch { /* not JSON: the status says it */ }
  const e = body.error || {};
  if (response.status === 401) tokenListeners.forEach((l) => l(e.message));
  return new APIError(response.status, e.message || `${response.status} ${response.statusText}`, e.field, e.code, e.models);
}

/** Calls the API; JSON answers are parsed, others returned as the Response. */
export async function api(path, { method = 'GET', json, body, headers = {} } = {}) {
  const h = headersWithToken(headers);
  if (json !== undefined) { h['Content-Type'] = 'application/json'; body = JSON.stringify(json); }
  let response;
  try {
    response = await fetch(path, { method, headers: h, body });
  } catch (error) {
    throw new APIError(0, `the server did not answer (${error.message}); is visage serve still running?`);
  }
  if (!response.ok) throw await failure(response);
  const type = response.headers.get('content-type') || '';
  return type.includes('application/json') ? response.json() : response;
}

/** Uploads a file the user chose; the server checks its content (422 with the reason otherwise). */
export function upload(file, kind) {
  return api(`/v1/files?kind=${kind}&name=${encodeURIComponent(file.name || 'upload')}`,
    { method: 'POST', body: file, headers: { 'Content-Type': file.type || 'application/octet-stream' } });
}

export function kindOf(file) {
  if (file.type.startsWith('video/')) return 'video';
  if (file.type.startsWith('image/')) return 'image';
  return /\.(mp4|mov|mkv|avi|wmv|webm|m4v|mpg|mpeg)$/i.test(file.name) ? 'video' : 'image';
}

/**
 * Follows a job's server-sent events until it ends (fetch, not EventSource, so the token goes in a
 * header). `onProgress` gets each progress event; the job's final status is returned.
 */
export async function follow(id, onProgress = () => {}, onState = () => {}) {
  const response = await fetch(`/v1/jobs/${id}/events`, { headers: headersWithToken() });
  if (!response.ok) throw await failure(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message'; let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) name = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (!data) continue;
      const payload = JSON.parse(data);
      if (name === 'progress') onProgress(payload);
      else if (name === 'state') {
        onState(payload);
        if (['succeeded', 'failed', 'cancelled'].includes(payload.state)) { reader.cancel().catch(() => {}); return payload; }
      }
    }
  }
  return api(`/v1/jobs/${id}`);
}

/** Submits a job and follows it to its end; a failed job becomes an APIError with its error text. */
export async function runJob(kind, inputs, options, onProgress, onSubmitted = () => {}) {
  const submitted = await api('/v1/jobs', { method: 'POST', json: { kind, inputs, options } });
  onSubmitted(submitted);
  const status = await follow(submitted.id, onProgress);
  if (status.state !== 'succeeded') throw new APIError(200, status.error || `the job was ${status.state}`);
  return status;
}

/** "frame 12/300 · 8.1 fps · 36 s left" */
export function describeProgress(p) {
  const parts = [`${p.stage}: ${p.done}${p.total ? `/${p.total}` : ''}`];
  if (p.fps) parts.push(`${p.fps.toFixed(1)} fps`);
  if (p.total && p.fps > 0 && !p.finished) parts.push(`${Math.ceil((p.total - p.done) / p.fps)} s left`);
  return parts.join(' · ');
}

/** Shows an error next to the control that caused it, in the server's words (cleared with null). */
export function showError(element, error) {
  element.textContent = error ? (error.message || String(error)) : '';
  element.hidden = !error;
}

/** A small element builder: el('td', {class: 'n'}, 'text', child). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (key === 'style') {
      // Through the CSSOM: the Content-Security-Policy refuses style attributes.
      for (const part of value.split(';')) {
        const at = part.indexOf(':');
        if (at > 0) node.style.setProperty(part.slice(0, at).trim(), part.slice(at + 1).trim());
      }
    }
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}
