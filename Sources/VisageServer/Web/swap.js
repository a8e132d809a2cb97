// Swap page: source face photos and a target (image or video), the detected faces as thumbnails (one
// face, many faces, or each source mapped to a target face by clicking), options
// with the command line's names, a one-frame preview, then the whole job with its progress.
import { api, upload, kindOf, runJob, describeProgress, withToken, showError, el } from './api.js';

const state = {
  sources: [], // [{id, name, faces}] in the order chosen; the first is the source of "one face"/"many faces"
  sourceFace: null, // 1-based face of the first source photo (one face)
  pick: null, // map faces: the source (index in sources) waiting for a target face
  pairs: [], // map faces: [{source: file id, reference: file id, label}]
  target: null, job: null, entered: false, targetFrame: null,
};
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

function mode() { return document.querySelector('input[name=swap-faces]:checked').value; }

/** A square around a face, `scale` times its size, drawn into a canvas of `side` pixels. */
function crop(picture, box, scale, side) {
  const [x1, y1, x2, y2] = box;
  const size = Math.max(x2 - x1, y2 - y1) * scale;
  const canvas = el('canvas', { width: side, height: side });
  canvas.getContext('2d').drawImage(picture, (x1 + x2) / 2 - size / 2, (y1 + y2) / 2 - size / 2, size, size, 0, 0, side, side);
  return canvas;
}

/** One thumbnail per face, cut from the picture the browser already has; `onPick(n)` on a click. */
function thumbnails(container, picture, faces, onPick, picked, label) {
  container.querySelectorAll('.face, .none').forEach((n) => n.remove());
  if (!faces.length) { container.append(el('p', { class: 'none hint' }, 'No face found here.')); return; }
  faces.forEach((face, i) => {
    const button = el('button', { type: 'button', class: 'face', 'aria-pressed': String(picked === i + 1),
      title: `${label} face ${i + 1} (score ${face.score})`, 'aria-label': `${label} face ${i + 1}`, 'data-box': face.box.join(','),
      onclick: () => onPick(i + 1) }, crop(picture, face.box, 1.3, 96));
    container.append(button);
  });
}

function ready() {
  const sourceReady = mode() === 'map' ? state.pairs.length > 0 : state.sources.length > 0;
  $('swap-preview').disabled = !(sourceReady && state.target) || !!state.job;
  $('swap-run').disabled = !(sourceReady && state.target) || !!state.job;
  $('swap-map').hidden = mode() !== 'map';
}

function hint(text) { $('swap-map-hint').textContent = text; }

function drawPairs() {
  $('swap-pairs').replaceChildren(...state.pairs.map((pair, i) => el('li', {}, pair.label, ' ',
    el('button', { type: 'button', onclick: () => { state.pairs.splice(i, 1); drawPairs(); ready(); } }, 'remove'))));
  ready();
}

/** Map faces: a click on a source face, then on a target face, makes a pair (the target face, cut
 *  out and uploaded, is the reference photo the job matches faces against). */
async function pickTarget(picture, face, number) {
  if (mode() !== 'map') return;
  if (state.pick === null) { hint('First click a source face, then the target face it should replace.'); return; }
  const source = state.sources[state.pick];
  state.pick = null;
  try {
    const blob = await new Promise((resolve) => crop(picture, face.box, 2.0, 256).toBlob(resolve, 'image/jpeg', 0.95));
    const reference = await upload(new File([blob], `target-face-${number}.jpg`, { type: 'image/jpeg' }), 'image');
    state.pairs.push({ source: source.id, reference: reference.id, label: `${source.name} → target face ${number}` });
    hint('Pair added. Click another source face to map another one.');
    drawPairs();
  } catch (e) { showError($('swap-target-error'), e); }
}

async function chooseSources(files) {
  const error = $('swap-source-error');
  const container = $('swap-source-faces');
  showError(error, null);
  container.replaceChildren();
  state.sources = []; state.sourceFace = null; state.pick = null; state.pairs = []; drawPairs();
  for (const file of files) {
    try {
      const info = await upload(file, 'image');
      const url = URL.createObjectURL(file);
      const picture = await loadImage(url);
      const group = el('div', { class: 'faces' }, el('img', { class: 'preview', src: url, alt: `source photo ${file.name}` }));
      container.append(group);
      const found = await facesOf(info.id);
      const entry = { id: info.id, name: file.name, faces: found };
      state.sources.push(entry);
      const index = state.sources.length - 1;
      const onPick = (n) => {
        if (mode() === 'map') {
          state.pick = index;
          hint(`Now click the target face that ${file.name} should replace.`);
          thumbnails(group, picture, found, onPick, n, file.name);
        } else if (index === 0) {
          state.sourceFace = n;
          thumbnails(group, picture, found, onPick, n, file.name);
        }
      };
      thumbnails(group, picture, found, onPick, found.length === 1 ? 1 : null, file.name);
      ready();
    } catch (e) { showError(error, e); }
  }
}

async function chooseTarget(file) {
  const error = $('swap-target-error');
  const faces = $('swap-target-faces');
  showError(error, null);
  faces.replaceChildren();
  $('swap-frame-picker').hidden = true;
  state.target = null; state.pairs = []; drawPairs();
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
      video.addEventListener('loadeddata', () => {
        const slider = $('swap-frame');
        slider.max = String(Math.max(0, Math.floor(video.duration * 25) - 1)); // ~25 frames a second of slider
        slider.value = '0';
        $('swap-frame-label').textContent = 't = 0.00 s';
        $('swap-frame-picker').hidden = false;
        videoFaces();
      }, { once: true });
    } else {
      const picture = await loadImage(url);
      faces.append(el('img', { class: 'preview', src: url, alt: 'target image' }));
      const found = await facesOf(info.id);
      thumbnails(faces, picture, found, (n) => pickTarget(picture, found[n - 1], n), null, 'target');
    }
  } catch (e) { showError(error, e); }
}

/** The faces of the video frame under the slider, as thumbnails (the frame goes up as an image). */
async function videoFaces() {
  const container = $('swap-target-faces');
  try {
    const frame = await grabFrame();
    const info = await upload(frame, 'image');
    const picture = await loadImage(URL.createObjectURL(frame));
    const found = await facesOf(info.id);
    thumbnails(container, picture, found, (n) => pickTarget(picture, found[n - 1], n), null, 'target');
  } catch (e) { showError($('swap-target-error'), e); }
}

function options() {
  const o = {};
  if (mode() === 'many') o['many-faces'] = true;
  else if (mode() === 'map') o['map-faces'] = state.pairs.map((p) => ({ source: p.source, reference: p.reference }));
  else if (state.sourceFace) o['source-face'] = state.sourceFace;
  const swapper = $('swap-swapper').value;
  if (swapper !== 'landmark') o.swapper = swapper;
  const number = (id, name, fallback) => { const v = parseFloat($(id).value); if (!Number.isNaN(v) && v !== fallback) o[name] = v; };
  number('swap-mouth-mask', 'mouth-mask', 0);
  number('swap-opacity', 'opacity', 1);
  number('swap-sharpen', 'sharpen', 0);
  if ($('swap-color-correction').checked) o['color-correction'] = true;
  // The enhancer's model must be installed on the server (System page); the API says so otherwise.
  if ($('swap-enhancer').value) o.enhancer = $('swap-enhancer').value;
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
    const inputs = mode() === 'map' ? { target } : { source: state.sources[0].id, target };
    const done = await runJob('swap', inputs, opts, (p) => {
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
  $('swap-source').addEventListener('change', (e) => chooseSources([...e.target.files]));
  for (const radio of document.querySelectorAll('input[name=swap-faces]')) {
    radio.addEventListener('change', () => {
      state.pick = null;
      hint(mode() === 'map' ? 'Click a source face, then the target face it should replace.' : '');
      ready();
    });
  }
  $('swap-target').addEventListener('change', (e) => chooseTarget(e.target.files[0]));
  $('swap-preview').addEventListener('click', () => run(true));
  $('swap-run').addEventListener('click', () => run(false));
  $('swap-cancel').addEventListener('click', async () => {
    if (state.job && state.job !== 'starting') {
      try { await api(`/v1/jobs/${state.job}`, { method: 'DELETE' }); } catch (e) { showError($('swap-run-error'), e); }
    }
  });
  $('swap-frame').addEventListener('input', (e) => { $('swap-frame-label').textContent = `t = ${(Number(e.target.value) / 25).toFixed(2)} s`; });
  $('swap-frame').addEventListener('change', () => { if (state.target && state.target.kind === 'video') videoFaces(); });
}
