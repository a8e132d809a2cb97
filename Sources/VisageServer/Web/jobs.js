// Jobs page: every job with its state, kind, inputs, timings and outputs; cancel, retry, delete, download.
import { api, withToken, showError, el } from './api.js';

const $ = (id) => document.getElementById(id);
let timer = null;
let entered = false;

function row(job) {
  const error = el('span', { class: 'error', role: 'alert', hidden: true });
  const actions = el('td');
  const act = (label, f) => el('button', { type: 'button', onclick: async () => {
    showError(error, null);
    try { await f(); await load(); } catch (e) { showError(error, e); }
  } }, label);
  if (['queued', 'running'].includes(job.state)) actions.append(act('Cancel', () => api(`/v1/jobs/${job.id}`, { method: 'DELETE' })));
  if (['failed', 'cancelled', 'succeeded'].includes(job.state)) {
    actions.append(act('Retry', () => api('/v1/jobs', { method: 'POST', json: { kind: job.kind, inputs: job.inputs, options: job.options } })));
  }
  if (['failed', 'cancelled', 'succeeded'].includes(job.state)) {
    actions.append(act('Delete', () => api(`/v1/jobs/${job.id}?remove=true`, { method: 'DELETE' })));
  }
  actions.append(error);
  const p = job.progress;
  const state = el('td', { class: `state ${job.state}` }, job.state,
    job.state === 'running' && p ? el('div', { class: 'hint' }, `${p.done}${p.total ? `/${p.total}` : ''} ${p.stage}`) : '',
    job.position ? el('div', { class: 'hint' }, `#${job.position} in line`) : '',
    job.error ? el('div', { class: 'hint' }, job.error) : '');
  const t = job.timings;
  return el('tr', { 'data-job': job.id },
    el('td', {}, el('span', { class: 'id', title: job.id }, job.id.slice(0, 8)), el('div', { class: 'hint' }, new Date(job.created_at).toLocaleString())),
    el('td', {}, job.kind),
    state,
    el('td', {}, Object.entries(job.inputs).map(([k, v]) => el('div', {}, `${k}: `, el('span', { class: 'id', title: v }, v.slice(0, 10))))),
    el('td', {}, `waited ${t.queued_s.toFixed(1)} s`, t.run_s !== undefined ? el('div', {}, `ran ${t.run_s.toFixed(1)} s`) : ''),
    el('td', {}, job.results_removed ? 'removed by retention'
      : job.outputs.map((o) => el('div', {}, el('a', { href: withToken(o.url), download: `visage-${job.id.slice(0, 8)}-${o.name}` }, o.name)))),
    actions);
}

async function load() {
  showError($('jobs-error'), null);
  try {
    const state = $('jobs-state').value;
    const page = await api(`/v1/jobs?limit=100${state ? `&state=${state}` : ''}`);
    $('jobs-table').tBodies[0].replaceChildren(...page.jobs.map(row));
    if (!page.jobs.length) $('jobs-table').tBodies[0].append(el('tr', {}, el('td', { colspan: 7, class: 'hint' }, 'No jobs yet.')));
  } catch (e) { showError($('jobs-error'), e); }
}

export function enter() {
  if (!entered) {
    entered = true;
    $('jobs-refresh').addEventListener('click', load);
    $('jobs-state').addEventListener('change', load);
  }
  load();
  timer = setInterval(() => { if (!document.hidden) load(); }, 3000);
}

export function leave() { clearInterval(timer); timer = null; }
