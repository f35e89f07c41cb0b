// A tiny element builder: every text goes in through textContent, so nothing from the API is parsed as HTML.
export function h(tag, attrs, ...children) {
  // 'tag#id.class.class', as in CSS.
  const [head, ...classes] = tag.split('.');
  const [name, id] = head.split('#');
  const el = document.createElement(name || 'div');
  if (id) el.id = id;
  if (classes.length) el.className = classes.join(' ');
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className += (el.className ? ' ' : '') + value;
    else if (key === 'text') el.textContent = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

export function table(headers, rows, attrs) {
  return h('table', attrs, h('thead', null, h('tr', null, headers.map(x => h('th', null, x)))), h('tbody', null, rows));
}

export function ago(iso) {
  if (!iso) return '';
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${Math.floor(seconds)}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return new Date(iso).toISOString().slice(0, 16).replace('T', ' ');
}

export function time(iso) {
  return iso ? new Date(iso).toISOString().slice(11, 19) : '';
}

export function short(revision) {
  return revision ? String(revision).slice(0, 12) : '–';
}

export function badge(text, kind) {
  return h(`span.badge.${kind ?? String(text).toLowerCase()}`, { text });
}

// A confirmation in the page (not window.confirm): it says what will happen and who will be named in the audit.
export function confirmDialog(title, detail, action) {
  return new Promise(resolve => {
    const close = ok => { dialog.close(); dialog.remove(); resolve(ok); };
    const dialog = h('dialog.confirm', { 'aria-label': title },
      h('h3', { text: title }),
      h('p', { text: detail }),
      h('div.buttons',
        null,
        h('button.secondary', { type: 'button', onclick: () => close(false) }, 'Cancel'),
        h('button.danger', { type: 'button', 'data-confirm': true, onclick: () => close(true) }, action)));
    dialog.addEventListener('cancel', () => resolve(false));
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function toast(text, kind = 'info') {
  const el = h(`div.toast.${kind}`, { role: kind === 'error' ? 'alert' : 'status', text });
  document.getElementById('toasts').append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 12000 : 6000);
}

// replaceChildren that skips null/false and flattens arrays, as h() does (replaceChildren would print "null").
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}
