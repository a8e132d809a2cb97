// The shell: navigation between pages (one per job), the token prompt, and error display.
import { onTokenNeeded, setToken, token } from './api.js';
import * as swap from './swap.js';
import * as live from './live.js';
import * as au from './au.js';
import * as jobs from './jobs.js';
import * as system from './system.js';

const pages = { swap, live, au, jobs, system };
let current = null;

function show(name) {
  if (!pages[name]) name = 'swap';
  if (current === name) return;
  if (current && pages[current].leave) pages[current].leave();
  current = name;
  for (const section of document.querySelectorAll('main > section')) section.hidden = section.id !== `page-${name}`;
  for (const link of document.querySelectorAll('nav a')) {
    if (link.getAttribute('href') === `#${name}`) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
  }
  document.title = `Visage · ${document.querySelector(`nav a[href="#${name}"]`).textContent}`;
  pages[name].enter(document.getElementById(`page-${name}`));
}

function setUpToken() {
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  const message = document.getElementById('token-message');
  onTokenNeeded((text) => {
    form.hidden = false;
    message.textContent = text || 'This server needs a token.';
    input.focus();
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    input.value = '';
    form.hidden = true;
    const name = current; current = null; show(name);
  });
  document.getElementById('token-forget').addEventListener('click', () => { setToken(''); form.hidden = false; });
  document.getElementById('token-forget').hidden = !token();
}

window.addEventListener('hashchange', () => show(location.hash.slice(1)));
window.addEventListener('pagehide', () => { if (current && pages[current].leave) pages[current].leave(); });
setUpToken();
show(location.hash.slice(1) || 'swap');
