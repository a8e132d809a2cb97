// Swap page: a source face and a target (image or video), the detected faces as thumbnails, options
// with the command line's names, a one-frame preview, then the whole job with its progress.
import { api, upload, kindOf, runJob, describeProgress, withToken, showError, el } from './api.js';

const state = { source: null, target: null, sourceFace: null, job: null, entered: false };
const $ = (id) => document.getElementById(id);

/** Finds the faces of an uploaded image with an analyze job; returns their boxes. */
async function facesOf(fileId) {
  const status = await runJob('analyze', { input: fileId }, {});
  return (status.result && status.result.faces) || [];
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error('the browser cannot show this image'));
    image.src = url;
  });
}

/** One thumbnail per face, cut from the picture the browser already has. */
function thumbnails(container, picture, faces, onPick, picked) {
  container.querySelectorAll('.face, .none').forEach((n) => n.remove());
  if (!faces.length) { container.append(el('p', { class: 'none hint' }, 'No face found here.')); return; }
  faces.forEach((face, i) => {
    const [x1, y1, x2, y2] = face.box;
    const pad = 0.15 * Math.max(x2 - x1, y2 - y1);
    const canvas = el('canvas', { width: 96, height: 96 });
    const side = Math.max(x2 - x1, y2 - y1) + 2 * pad;
    canvas.getContext('2d').drawImage(picture, (x1 + x2) / 2 - side / 2, (y1 + y2) / 2 - side / 2, side, side, 0, 0, 96, 96);
    const button = el('button', { type: 'button', class: 'face', 'aria-pressed': String(picked === i + 1), title: `face ${i + 1} (score ${face.score})`,
      'aria-label': `face ${i + 1}`, onclick: onPick ? () => onPick(i + 1) : null }, canvas);
    if (!onPick) button.disabled = true;
    container.append(button);
  });
}

function ready() {
  $('swap-preview').disabled = !(state.source && state.target) || !!state.job;
  $('swap-run').disabled = !(state.source && state.target) || !!state.job;
}

async function chooseSource(file) {
  const error = $('swap-source-error');
  const faces = $('swap-source-faces');
  showError(error, null);
  faces.replaceChildren();
  state.source = null; state.sourceFace = null; ready();
  if (!file) return;
  try {
    const info = await upload(file, 'image');
    state.source = info.id; ready();
    const url = URL.createObjectURL(file);
    const picture = await loadImage(url);
    faces.append(el('img', { class: 'preview', src: url, alt: 'source photo' }));
    const found = await facesOf(info.id);
    const pick = (n) => { state.sourceFace = n; thumbnails(faces, picture, found, pick, n); };
    thumbnails(faces, picture, found, found.length > 1 ? pick : null, found.length > 1 ? null : 1);
  } catch (e) { showError(error, e); }
}

async function chooseTarget(file) {
  const error = $('swap-target-error');
  const faces = $('swap-target-faces');
  showError(error, null);
  faces.replaceChildren();
  $('swap-frame-picker').hidden = true;
  state.target = null; ready();
  if (!file) return;
  const kind = kindOf(file);
  try {
    const info = await upload(file, kind);
    state.target = { id: info.id, kind, info };
    ready();
    const url = URL.createObjectURL(file);
    if (kind === 'video') {
      const video = el('video', { class: 'preview', src: url, muted: true, playsinline: true, preload: 'auto', id: 'swap-target-video' });
      faces.append(video);
      video.addEventListener('loadedmetadata', () => {
        const slider = $('swap-frame');
        slider.max = String(Math.max(0, Math.floor(video.duration * 25) - 1)); // ~25 frames a second of slider
        slider.value = '0';
        $('swap-frame-label').textContent = 't = 0.00 s';
        $('swap-frame-picker').hidden = false;
      }, { once: true });
    } else {
      const picture = await loadImage(url);
      faces.append(el('img', { class: 'preview', src: url, alt: 'target image' }));
      thumbnails(faces, picture, await facesOf(info.id), null, null);
    }
  } catch (e) { showError(error, e); }
}

function options() {
  const o = {};
  if (document.querySelector('input[name=swap-faces]:checked').value === 'many') o['many-faces'] = true;
  else if (state.sourceFace) o['source-face'] = state.sourceFace;
  const swapper = $('swap-swapper').value;
  if (swapper !== 'landmark') o.swapper = swapper;
  const number = (id, name, fallback) => { const v = parseFloat($(id).value); if (!Number.isNaN(v) && v !== fallback) o[name] = v; };
  number('swap-mouth-mask', 'mouth-mask', 0);
  number('swap-opacity', 'opacity', 1);
  number('swap-sharpen', 'sharpen', 0);
  if ($('swap-color-correction').checked) o['color-correction'] = true;
  if (state.target && state.target.kind === 'video') {
    if (!$('swap-keep-audio').checked) o['keep-audio'] = false;
    if ($('swap-video-encoder').value !== 'libx264') o['video-encoder'] = $('swap-video-encoder').value;
    number('swap-video-quality', 'video-quality', 18);
  }
  return o;
}

/** The target frame the slider points at, as a JPEG the server can take as an image. */
function grabFrame() {
  const video = $('swap-target-video');
  const time = Number($('swap-frame').value) / 25;
  return new Promise((resolve, reject) => {
    const draw = () => {
      const canvas = el('canvas', { width: video.videoWidth, height: video.videoHeight });
      canvas.getContext('2d').drawImage(video, 0, 0);
      canvas.toBlob((blob) => (blob ? resolve(new File([blob], 'preview-frame.jpg', { type: 'image/jpeg' })) : reject(new Error('cannot read this frame'))),
        'image/jpeg', 0.95);
    };
    if (Math.abs(video.currentTime - time) < 0.001 && video.readyState >= 2) { draw(); return; }
    video.addEventListener('seeked', draw, { once: true });
    video.currentTime = Math.min(time, Math.max(0, video.duration - 0.05));
  });
}

function showResult(status, preview) {
  const output = status.outputs.find((o) => o.name.startsWith('output'));
  const box = $('swap-result');
  box.replaceChildren();
  if (!output) return;
  const url = withToken(output.url);
  const isVideo = /\.(mp4|mov|mkv|webm)$/i.test(output.name);
  box.append(el('h2', {}, preview ? 'Preview' : 'Result'));
  box.append(isVideo
    ? el('video', { id: 'swap-result-video', src: url, controls: true, playsinline: true, preload: 'auto' })
    : el('img', { id: 'swap-result-image', src: url, alt: preview ? 'preview of the swap' : 'the swapped image' }));
  box.append(el('p', {}, el('a', { href: url, download: `visage-${status.id.slice(0, 8)}-${output.name}` }, `Download ${output.name}`),
    ` (${(output.size / 1024).toFixed(0)} KB)`));
  box.append(el('p', { class: 'label-note' }, 'This file is AI-altered. It carries Visage\'s machine-readable synthetic-media label ' +
    '(in the image or video metadata); keep it when you share the file.'));
  box.scrollIntoView({ block: 'start' });
}

async function run(preview) {
  showError($('swap-run-error'), null);
  const progress = $('swap-progress');
  const status = $('swap-status');
  progress.hidden = false; progress.removeAttribute('value');
  state.job = 'starting'; ready();
  $('swap-cancel').hidden = preview;
  try {
    let target = state.target.id;
    if (preview && state.target.kind === 'video') {
      status.textContent = 'Taking the chosen frame…';
      target = (await upload(await grabFrame(), 'image')).id;
    }
    const opts = options();
    if (preview) { delete opts['keep-audio']; delete opts['video-encoder']; delete opts['video-quality']; }
    status.textContent = preview ? 'Swapping one frame…' : 'Queued…';
    const t0 = performance.now();
    const done = await runJob('swap', { source: state.source, target }, opts, (p) => {
      if (p.total) { progress.max = p.total; progress.value = p.done; }
      status.textContent = describeProgress(p);
    }, (submitted) => { state.job = submitted.id; });
    const seconds = ((performance.now() - t0) / 1000).toFixed(1);
    status.textContent = `${preview ? 'Preview' : 'Done'} in ${seconds} s` +
      (done.result && done.result.swapped_faces !== undefined ? ` · ${done.result.swapped_faces} face(s) swapped` : '');
    progress.max = 1; progress.value = 1;
    showResult(done, preview);
  } catch (e) {
    showError(e.field && e.field.startsWith('options') ? $('swap-options-error') : $('swap-run-error'), e);
    status.textContent = '';
  } finally {
    state.job = null; ready();
    $('swap-cancel').hidden = true;
  }
}

export function enter() {
  if (state.entered) return;
  state.entered = true;
  $('swap-source').addEventListener('change', (e) => chooseSource(e.target.files[0]));
  $('swap-target').addEventListener('change', (e) => chooseTarget(e.target.files[0]));
  $('swap-preview').addEventListener('click', () => run(true));
  $('swap-run').addEventListener('click', () => run(false));
  $('swap-cancel').addEventListener('click', async () => {
    if (state.job && state.job !== 'starting') {
      try { await api(`/v1/jobs/${state.job}`, { method: 'DELETE' }); } catch (e) { showError($('swap-run-error'), e); }
    }
  });
  $('swap-frame').addEventListener('input', (e) => { $('swap-frame-label').textContent = `t = ${(Number(e.target.value) / 25).toFixed(2)} s`; });
}
