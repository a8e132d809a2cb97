// Action units page: upload a video or photo, run the AU job (OpenFace 2.2's CSV and plot), then an
// interactive chart of every AU over time, head pose and gaze strips, and the downloads.
import { api, upload, kindOf, runJob, describeProgress, withToken, showError, el } from './api.js';

const $ = (id) => document.getElementById(id);
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf',
  '#393b79', '#ad494a', '#637939', '#8c6d31', '#843c39', '#7b4173', '#3182bd', '#e6550d'];
const DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3]];
let table = null; // {frames, faces: Map(face -> rows), columns}
let cursor = null;
let entered = false;

/** OpenFace's CSV → rows of numbers keyed by column name (headers may carry a space after the comma). */
export function parseCSV(text) {
  const lines = text.trim().split('\n');
  const names = lines[0].split(',').map((s) => s.trim());
  const rows = lines.slice(1).map((line) => {
    const cells = line.split(',');
    const row = {};
    names.forEach((n, i) => { row[n] = parseFloat(cells[i]); });
    return row;
  });
  return { names, rows };
}

function setUpCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth || 600;
  const height = Number(canvas.getAttribute('height'));
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.height = `${height}px`;
  const g = canvas.getContext('2d');
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { g, width, height };
}

/** Lines of `series` ([{name, color, dash, points: [[frame, value]]}]) over frames, y from lo to hi. */
function plot(canvas, series, lo, hi, frames, label) {
  const { g, width, height } = setUpCanvas(canvas);
  const left = 36; const right = 8; const top = 8; const bottom = 20;
  const x = (f) => left + ((f - frames[0]) / Math.max(1, frames[1] - frames[0])) * (width - left - right);
  const y = (v) => top + (1 - (v - lo) / (hi - lo || 1)) * (height - top - bottom);
  g.clearRect(0, 0, width, height);
  g.font = '11px system-ui, sans-serif';
  g.fillStyle = '#5b6470'; g.strokeStyle = '#e3e6ea'; g.lineWidth = 1;
  // Grid lines on round values (1, 2, 2.5 or 5 times a power of ten), each labelled with its own value.
  const raw = (hi - lo || 1) / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw * 0.999);
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9) + (step / magnitude === 2.5 ? 1 : 0));
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-6; v += step) {
    g.beginPath(); g.moveTo(left, y(v)); g.lineTo(width - right, y(v)); g.stroke();
    g.fillText((Math.abs(v) < step * 1e-6 ? 0 : v).toFixed(decimals), 2, y(v) + 4);
  }
  g.fillText(`frame ${frames[0]}`, left, height - 5);
  g.fillText(`${frames[1]}`, width - right - 30, height - 5);
  if (label) g.fillText(label, left + 80, height - 5);
  for (const s of series) {
    g.strokeStyle = s.color; g.lineWidth = 1.4; g.setLineDash(s.dash || []);
    g.beginPath();
    let pen = false;
    for (const [f, v] of s.points) {
      if (Number.isNaN(v)) { pen = false; continue; }
      if (pen) g.lineTo(x(f), y(v)); else g.moveTo(x(f), y(v));
      pen = true;
    }
    g.stroke();
  }
  g.setLineDash([]);
  if (cursor !== null) {
    g.strokeStyle = '#14233b'; g.beginPath(); g.moveTo(x(cursor), top); g.lineTo(x(cursor), height - bottom); g.stroke();
  }
  canvas.dataset.series = String(series.length);
  return { x, left, right, width };
}

function auColumns(measure) {
  return table.names.filter((n) => new RegExp(`^AU\\d+_${measure}$`).test(n));
}

function draw() {
  if (!table) return;
  const measure = $('au-measure').value;
  const columns = auColumns(measure);
  const frames = [table.rows[0].frame, table.rows[table.rows.length - 1].frame];
  const faces = [...new Set(table.rows.map((r) => r.face_id))];
  const series = [];
  faces.forEach((face, fi) => {
    const rows = table.rows.filter((r) => r.face_id === face);
    columns.forEach((c, ci) => series.push({
      name: faces.length > 1 ? `${c} face ${face}` : c, color: COLORS[ci % COLORS.length], dash: DASHES[fi % DASHES.length],
      points: rows.map((r) => [r.frame, r.success === 0 ? NaN : r[c]]),
    }));
  });
  const chart = $('au-chart');
  chart.dataset.faces = String(faces.length);
  chart.dataset.aus = String(columns.length);
  layout = plot(chart, series, 0, measure === 'r' ? 5 : 1, frames, faces.length > 1 ? 'line style = face' : '');
  $('au-legend').replaceChildren(...columns.map((c, i) => el('span', { style: `--c:${COLORS[i % COLORS.length]}` }, c.replace(/_[rc]$/, ''))),
    ...(faces.length > 1 ? faces.map((f, i) => el('span', { class: 'hint' }, `face ${f}: ${['solid', 'dashed', 'dotted', 'dash-dot'][i % 4]}`)) : []));
  const strip = (canvas, names, lo, hi, label) => plot(canvas,
    names.map((n, i) => ({ name: n, color: COLORS[i], points: table.rows.filter((r) => r.face_id === faces[0]).map((r) => [r.frame, r[n]]) })),
    lo, hi, frames, label);
  strip($('au-pose'), ['pose_Rx', 'pose_Ry', 'pose_Rz'], -1, 1, 'head pose (rad): pitch blue, yaw orange, roll green');
  strip($('au-gaze'), ['gaze_angle_x', 'gaze_angle_y'], -1, 1, 'gaze angle (rad): x blue, y orange');
}
let layout = null;

/** The values at one frame, for the hover tip (and the keyboard's cursor). */
function tip(frame, px) {
  const box = $('au-tip');
  if (frame === null || !table) { box.hidden = true; return; }
  const measure = $('au-measure').value;
  const rows = table.rows.filter((r) => r.frame === frame);
  if (!rows.length) { box.hidden = true; return; }
  box.textContent = rows.map((r) => `frame ${frame}${rows.length > 1 ? ` · face ${r.face_id}` : ''}\n` +
    auColumns(measure).map((c) => `${c.replace(/_[rc]$/, '')} ${r[c].toFixed(2)}`).join('  ')).join('\n');
  const room = $('au-chart').clientWidth;
  box.style.left = `${px + 12 + Math.min(384, room * 0.8) > room ? Math.max(0, px - 12 - Math.min(384, room * 0.8)) : px + 12}px`;
  box.style.top = '10px';
  box.hidden = false;
}

function frameAt(px) {
  if (!table || !layout) return null;
  const first = table.rows[0].frame; const last = table.rows[table.rows.length - 1].frame;
  const f = Math.round(first + ((px - layout.left) / (layout.width - layout.left - layout.right)) * (last - first));
  return Math.max(first, Math.min(last, f));
}

async function analyse(file) {
  const error = $('au-error'); const progress = $('au-progress'); const status = $('au-status');
  showError(error, null);
  $('au-view').hidden = true;
  table = null; cursor = null;
  if (!file) return;
  progress.hidden = false; progress.removeAttribute('value');
  try {
    status.textContent = 'Uploading…';
    const info = await upload(file, kindOf(file));
    status.textContent = 'Queued…';
    const done = await runJob('au', { input: info.id }, { plot: true }, (p) => {
      if (p.total) { progress.max = p.total; progress.value = p.done; }
      status.textContent = describeProgress(p);
    });
    const csv = done.outputs.find((o) => o.name.endsWith('.csv'));
    const png = done.outputs.find((o) => o.name.endsWith('.png'));
    const text = await (await api(csv.url)).text();
    table = parseCSV(text);
    if (!table.rows.length) throw new Error('no face was found in this file, so there are no action units to show');
    $('au-csv').href = withToken(csv.url);
    $('au-csv').download = `${(file.name || 'au').replace(/\.[^.]+$/, '')}.csv`;
    if (png) { $('au-plot').src = withToken(png.url); $('au-plot-link').href = withToken(png.url); }
    $('au-plot').hidden = !png; $('au-plot-link').hidden = !png;
    progress.max = 1; progress.value = 1;
    const faces = new Set(table.rows.map((r) => r.face_id)).size;
    status.textContent = `${table.rows.length} row(s), ${faces} face(s), in ${done.timings.run_s.toFixed(1)} s`;
    $('au-view').hidden = false;
    draw();
  } catch (e) {
    showError(error, e);
    status.textContent = '';
    progress.hidden = true;
  }
}

export function enter() {
  if (entered) { draw(); return; }
  entered = true;
  $('au-input').addEventListener('change', (e) => analyse(e.target.files[0]));
  $('au-measure').addEventListener('change', draw);
  const chart = $('au-chart');
  chart.addEventListener('mousemove', (e) => {
    const rect = chart.getBoundingClientRect();
    cursor = frameAt(e.clientX - rect.left);
    draw(); tip(cursor, e.clientX - rect.left);
  });
  chart.addEventListener('mouseleave', () => { tip(null); });
  chart.addEventListener('keydown', (e) => {
    if (!table || !['ArrowLeft', 'ArrowRight'].includes(e.key)) return;
    e.preventDefault();
    const first = table.rows[0].frame; const last = table.rows[table.rows.length - 1].frame;
    cursor = Math.max(first, Math.min(last, (cursor ?? first) + (e.key === 'ArrowRight' ? 1 : -1)));
    draw(); tip(cursor, layout ? layout.x(cursor) : 0);
  });
  window.addEventListener('resize', draw);
}
