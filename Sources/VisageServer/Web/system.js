// System page: /health in words (machine, ONNX Runtime, providers chosen and why, mode, queue),
// the performance mode switch, and the model catalogue with install buttons.
import { api, showError, el } from './api.js';

const $ = (id) => document.getElementById(id);
let entered = false;

function line(label, value) { return el('p', {}, el('strong', {}, `${label}: `), value); }

async function load() {
  showError($('system-error'), null);
  try {
    const [health, settings, models] = await Promise.all([api('/health'), api('/v1/settings'), api('/v1/models')]);
    const s = health.system;
    const ort = s.onnxruntime || {};
    const accel = ort.accelerator || {};
    const gpus = (s.gpus || []).map((g) => g.name || JSON.stringify(g));
    $('system-summary').replaceChildren(
      line('Visage', `${health.version}, up ${Math.round(health.uptime_s)} s, status ${health.status}`),
      line('Machine', `${s.os}, ${s.arch}, ${s.cpu.model} (${s.cpu.logical_cores} cores), ${(s.memory_bytes / 2 ** 30).toFixed(1)} GiB`),
      line('GPU', gpus.length ? gpus.join(', ') : 'none found'),
      line('ONNX Runtime', ort.available ? `${ort.version} (API ${ort.api_version})` : 'not found'),
      line('Running on', `${(accel.chosen || []).join(', ') || '?'} — ${accel.reason || ''}`),
      line('FFmpeg', s.ffmpeg && s.ffmpeg.available ? `${s.ffmpeg.version}${s.ffmpeg.hardware_encoders.length ? `, hardware encoders: ${s.ffmpeg.hardware_encoders.join(', ')}` : ', no hardware encoder'}` : 'not found'),
      line('Performance mode', health.mode),
      line('Queue', `${health.queue.running} running, ${health.queue.queued} waiting, ${health.queue.workers} worker(s), room for ${health.queue.capacity}`),
      line('Live sessions', String(health.live_sessions)),
      line('Memory', `${health.rss_mb} MB resident, ${health.models_loaded} model(s) loaded`),
    );
    $('system-providers').replaceChildren(...(ort.providers_available || []).map((p) => {
      const short = p.replace('ExecutionProvider', '').toLowerCase();
      const chosen = (accel.chosen || []).includes(short);
      return el('li', { 'data-provider': p }, p, chosen ? el('strong', {}, ' — chosen') : '');
    }));
    $('system-mode').value = settings.mode;
    $('system-mode-text').textContent = (settings.modes || {})[settings.mode] || '';
    $('system-models').tBodies[0].replaceChildren(...models.models.map(modelRow));
  } catch (e) { showError($('system-error'), e); }
}

function modelRow(m) {
  const error = el('span', { class: 'error', role: 'alert', hidden: true });
  const cell = el('td');
  if (!m.installed) {
    const accept = m.requires_acceptance ? el('label', {}, el('input', { type: 'checkbox', class: 'accept' }), ' I accept the licence') : null;
    const button = el('button', { type: 'button', onclick: async () => {
      showError(error, null);
      button.disabled = true; button.textContent = 'Installing…';
      try {
        await api(`/v1/models/${encodeURIComponent(m.id)}/install`, { method: 'POST', json: { accept_license: !!(accept && accept.querySelector('input').checked) } });
        await load();
      } catch (e) { showError(error, e); button.disabled = false; button.textContent = 'Install'; }
    } }, 'Install');
    cell.append(...[accept, button, error].filter(Boolean));
  }
  return el('tr', { 'data-model': m.id },
    el('td', {}, el('code', {}, m.id), el('div', { class: 'hint' }, `${(m.size / 1048576).toFixed(1)} MB`)),
    el('td', {}, m.task),
    el('td', {}, m.license, m.non_commercial ? el('div', { class: 'hint' }, 'non-commercial') : ''),
    el('td', { class: 'installed' }, m.installed ? 'yes' : 'no'),
    cell);
}

export function enter() {
  if (!entered) {
    entered = true;
    $('system-mode').addEventListener('change', async (e) => {
      showError($('system-mode-error'), null);
      try {
        const settings = await api('/v1/settings', { method: 'PUT', json: { mode: e.target.value } });
        $('system-mode-text').textContent = (settings.modes || {})[settings.mode] || '';
      } catch (error) { showError($('system-mode-error'), error); }
    });
  }
  load();
}
