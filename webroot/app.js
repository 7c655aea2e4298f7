/*
 * The webchat page: sessions, transcript, streaming replies, abort, and reconnect with catch-up.
 *
 * Every bubble has a key (user:<runId>, assistant:<runId>, note:<messageId>, or seq:<n>) so the
 * same message is never shown twice, whether it arrives live, from history or from a catch-up.
 * Bubbles are kept in transcript (seq) order; a reply not stored yet sits after what the transcript
 * had when it started, and a message being sent stays at the bottom until its row arrives.
 * After a reconnect the page asks chat.history for what came after its cursor, re-sends messages
 * whose send was never acknowledged (same idempotency key: the gateway runs each at most once),
 * and asks agent.wait how runs it was waiting for ended.
 * Model text is rendered with SafeMarkdown: DOM nodes only, never HTML from the model.
 */
(function () {
  'use strict';

  const $ = (id) => document.getElementById(id);
  const el = {
    app: $('app'), sessions: $('sessions'), title: $('session-title'), status: $('status'),
    messages: $('messages'), empty: $('empty'), composer: $('composer'), input: $('input'), send: $('send'),
    stop: $('stop'), login: $('login'), loginForm: $('login-form'), tokenInput: $('token-input'),
    loginError: $('login-error'), newSession: $('new-session'), toggle: $('toggle-sidebar'),
    workspace: $('workspace-name'), scrim: $('scrim'), logout: $('logout')
  };
  const STORE = { token: 'switchboard.token', session: 'switchboard.session' };

  const state = {
    client: null,
    sessionKey: null,
    sessionId: null,
    cursorSeq: null,         // highest transcript seq seen in the current session
    entries: new Map(),      // bubble key -> {el, seq}
    running: new Set(),      // runIds of the current session not finished yet
    unsent: new Map(),       // runId -> {sessionKey, text}: sends not acknowledged yet
    loading: null
  };

  // ---- address bar and storage ------------------------------------------------------------

  /** Reads #token=…&session=… once, keeps them in sessionStorage, and clears the fragment. */
  function readFragment() {
    if (!location.hash || location.hash.length < 2) return;
    const params = new URLSearchParams(location.hash.slice(1));
    if (params.get('token')) sessionStorage.setItem(STORE.token, params.get('token'));
    if (params.get('session')) sessionStorage.setItem(STORE.session, params.get('session'));
    history.replaceState(null, '', location.pathname + location.search);
  }

  function wsUrl() {
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/';
  }

  // ---- small view helpers -----------------------------------------------------------------

  function setStatus(s, why, retryInMs) {
    el.status.dataset.state = s;
    el.status.textContent = s === 'offline' && retryInMs ? `offline, retrying in ${Math.ceil(retryInMs / 1000)} s` : s;
    el.status.title = why || '';
    el.send.disabled = s !== 'online';
    el.newSession.disabled = s !== 'online';
  }

  function textOf(message) {
    if (!message || !Array.isArray(message.content)) return '';
    return message.content.filter(b => b && b.type === 'text').map(b => b.text).join('');
  }

  function nearBottom() {
    return el.messages.scrollHeight - el.messages.scrollTop - el.messages.clientHeight < 80;
  }

  function scrollDown(force) {
    if (force || nearBottom()) el.messages.scrollTop = el.messages.scrollHeight;
  }

  function updateChrome() {
    el.stop.hidden = state.running.size === 0;
    el.empty.hidden = state.entries.size > 0;
  }

  function clearTranscript() {
    el.messages.querySelectorAll('.msg').forEach(n => n.remove());
    state.entries.clear();
    state.running.clear();
    state.cursorSeq = null;
    updateChrome();
  }

  /**
   * Where a bubble belongs: its transcript seq; a reply without a stored row (streaming, or stopped
   * and never stored) right after its own user message; anything else at the bottom, in arrival order.
   */
  function positionOf(entry) {
    if (entry.seq != null) return entry.seq;
    if (entry.role === 'assistant' && entry.runId) {
      const asked = state.entries.get(`user:${entry.runId}`);
      if (asked && asked.seq != null) return asked.seq + 0.5;
    }
    return Infinity;
  }

  function place(entry) {
    const at = positionOf(entry);
    entry.el.dataset.pos = String(at);
    let before = null;
    if (at !== Infinity) {
      for (const child of el.messages.querySelectorAll('.msg')) {
        if (child !== entry.el && Number(child.dataset.pos) > at) { before = child; break; }
      }
    } else if (entry.el.parentNode === el.messages) {
      return; // already at the bottom among the unplaced ones: keep arrival order
    }
    if (entry.el.parentNode !== el.messages || entry.el.nextElementSibling !== before) {
      el.messages.insertBefore(entry.el, before);
    }
  }

  /**
   * Shows or updates one message. spec: key, role (user|assistant), runId?, text, seq?, streaming?,
   * note? (small line under the text), error?, final? (a final bubble never goes back to streaming).
   */
  function upsert(spec) {
    const stick = nearBottom();
    let entry = state.entries.get(spec.key);
    if (!entry) {
      const div = document.createElement('div');
      div.className = `msg ${spec.role}`;
      div.dataset.key = spec.key;
      const body = document.createElement('div');
      body.className = 'body';
      div.appendChild(body);
      entry = { el: div, role: spec.role, runId: spec.runId || null, seq: null, final: false };
      state.entries.set(spec.key, entry);
    } else if (entry.final && spec.streaming) {
      return entry; // a late delta never overwrites the finished text
    }
    const div = entry.el;
    if (spec.text != null) {
      const body = div.querySelector('.body');
      if (spec.role === 'user') body.textContent = spec.text; else SafeMarkdown.render(spec.text, body);
    }
    div.classList.toggle('streaming', !!spec.streaming);
    if (spec.error) div.classList.add('error');
    if (spec.final) entry.final = true;
    if (spec.runId) entry.runId = spec.runId;
    let meta = div.querySelector('.meta');
    if (spec.note !== undefined) {
      if (spec.note) {
        if (!meta) { meta = document.createElement('div'); meta.className = 'meta'; div.appendChild(meta); }
        meta.textContent = spec.note;
      } else if (meta) {
        meta.remove();
      }
    }
    const moved = spec.seq != null && entry.seq !== spec.seq;
    if (spec.seq != null) entry.seq = spec.seq;
    place(entry);
    if (moved && entry.role === 'user' && entry.runId) {
      const reply = state.entries.get(`assistant:${entry.runId}`);
      if (reply) place(reply); // its reply sits right after it
    }
    updateChrome();
    scrollDown(stick);
    return entry;
  }

  function keyOf(m) {
    if (m.role === 'user' && m.runId) return `user:${m.runId}`;
    if (m.messageId) return `note:${m.messageId}`;
    if (m.role === 'assistant' && m.runId) return `assistant:${m.runId}`;
    return `seq:${m.seq}`;
  }

  /** A transcript row (from history or a live session.message). */
  function showRow(m) {
    const key = keyOf(m);
    // a stored user row proves the gateway took the message, even if its acknowledgement was lost
    const acknowledged = m.role === 'user' && state.unsent.delete(m.runId);
    upsert({ key, role: m.role === 'user' ? 'user' : 'assistant', runId: m.runId, text: textOf(m), seq: m.seq,
      final: true, streaming: false, note: acknowledged ? '' : undefined });
    if (m.role === 'assistant' && m.runId) state.running.delete(m.runId);
    if (typeof m.seq === 'number') state.cursorSeq = Math.max(state.cursorSeq || 0, m.seq);
    updateChrome();
  }

  function cursor() {
    return state.sessionId && state.cursorSeq != null ? `${state.sessionId}:${state.cursorSeq}` : null;
  }

  function seqOfCursor(c) {
    const i = c ? c.lastIndexOf(':') : -1;
    return i > 0 ? Number(c.slice(i + 1)) : null;
  }

  // ---- history, catch-up, sessions --------------------------------------------------------

  /** Loads the transcript (catchUp: only what came after the cursor, falling back to a reload). */
  async function loadHistory(catchUp) {
    const key = state.sessionKey;
    const params = { sessionKey: key, limit: 200 };
    const c = catchUp ? cursor() : null;
    if (c) {
      params.cursor = c;
    } else {
      // cleared before asking: whatever arrives live meanwhile is newer than the answer, and stays
      clearTranscript();
      state.sessionId = null;
    }
    let h;
    try { h = await state.client.request('chat.history', params); } catch (_) { return; }
    if (key !== state.sessionKey) return; // switched meanwhile
    if (h.kind === 'reset') return loadHistory(false);
    if (h.sessionKey && h.sessionKey !== key) {
      // "main" or an unprefixed key: events name the canonical one
      state.sessionKey = h.sessionKey;
      sessionStorage.setItem(STORE.session, h.sessionKey);
    }
    const info = h.sessionInfo || {};
    // a key with no session yet answers a made-up id; the first stored row names the real one
    state.sessionId = info.sessionId ? h.sessionId : null;
    el.title.textContent = info.displayName || info.label || key;
    el.title.title = h.sessionKey || key;
    (h.messages || []).forEach(showRow);
    const at = seqOfCursor(h.deltaCursor);
    if (at != null) state.cursorSeq = Math.max(state.cursorSeq || 0, at);
    if (h.inFlightRun && h.inFlightRun.runId) {
      state.running.add(h.inFlightRun.runId);
      upsert({ key: `assistant:${h.inFlightRun.runId}`, role: 'assistant', runId: h.inFlightRun.runId,
        text: h.inFlightRun.text || '', streaming: true });
    }
    await settleRuns(h.inFlightRun && h.inFlightRun.runId);
    updateChrome();
    scrollDown(!c);
  }

  /** Runs this page waited for that are neither streaming now nor in the transcript: how did they end? */
  async function settleRuns(streamingRunId) {
    const open = [...state.running].filter(r => r !== streamingRunId && !state.unsent.has(r));
    for (const runId of open) {
      let r;
      try { r = await state.client.request('agent.wait', { runId, timeoutMs: 0 }); } catch (_) { continue; }
      if (r.endedAt == null) continue; // still queued or running: its events will come
      state.running.delete(runId);
      const entry = state.entries.get(`assistant:${runId}`);
      if (r.status === 'ok') {
        if (entry && !entry.final) upsert({ key: `assistant:${runId}`, role: 'assistant', runId, text: r.text || null, streaming: false, final: true });
      } else if (r.status === 'error') {
        upsert({ key: `assistant:${runId}`, role: 'assistant', runId, streaming: false, final: true, error: true,
          note: `run error: ${r.error || 'failed'}` });
      } else {
        upsert({ key: `assistant:${runId}`, role: 'assistant', runId, streaming: false, final: true, note: 'stopped' });
      }
    }
    updateChrome();
  }

  async function loadSessions() {
    let r;
    try { r = await state.client.request('sessions.list', { limit: 100 }); } catch (_) { return; }
    el.sessions.textContent = '';
    const rows = r.sessions || [];
    if (!rows.some(s => s.key === state.sessionKey)) rows.unshift({ key: state.sessionKey, displayName: 'new session' });
    rows.forEach(s => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'session';
      button.dataset.key = s.key;
      if (s.key === state.sessionKey) { li.className = 'active'; button.setAttribute('aria-current', 'true'); }
      const name = document.createElement('span');
      name.className = 'name';
      name.textContent = s.displayName || s.key;
      const when = document.createElement('span');
      when.className = 'when';
      when.textContent = s.updatedAt ? new Date(s.updatedAt).toLocaleString() : '';
      const preview = document.createElement('span');
      preview.className = 'preview';
      preview.textContent = s.lastMessagePreview || '';
      button.append(name, preview, when);
      button.addEventListener('click', () => switchTo(s.key));
      li.appendChild(button);
      el.sessions.appendChild(li);
    });
  }

  let sessionsTimer = null;
  function refreshSessionsSoon() {
    clearTimeout(sessionsTimer);
    sessionsTimer = setTimeout(loadSessions, 250);
  }

  async function watch(key, previous) {
    if (previous && previous !== key) {
      state.client.request('sessions.messages.unsubscribe', { key: previous }).catch(() => {});
    }
    await state.client.request('sessions.messages.subscribe', { key }).catch(() => {});
  }

  async function switchTo(key) {
    const previous = state.sessionKey;
    state.sessionKey = key;
    state.sessionId = null;
    sessionStorage.setItem(STORE.session, key);
    el.app.classList.remove('show-sidebar');
    clearTranscript();
    el.title.textContent = key;
    if (!state.client || !state.client.ready) return;
    await watch(key, previous);
    await loadHistory(false);
    loadSessions();
    el.input.focus();
  }

  // ---- events -----------------------------------------------------------------------------

  function onEvent(name, p) {
    if (name === 'chat') onChat(p);
    else if (name === 'session.message') {
      if (p.sessionKey === state.sessionKey && p.message) {
        if (!state.sessionId && p.sessionId) state.sessionId = p.sessionId;
        if (p.sessionId && p.sessionId !== state.sessionId) {
          // the key points at another transcript than the one shown (reset elsewhere, or the
          // session did not exist when the page loaded): load the current one
          loadHistory(false);
          return;
        }
        showRow(Object.assign({ seq: p.messageSeq, runId: p.runId, messageId: p.messageId }, p.message));
      }
    } else if (name === 'sessions.changed') {
      refreshSessionsSoon();
      if (p.sessionKey === state.sessionKey && (p.reason === 'new' || p.reason === 'reset')
          && p.sessionId && p.sessionId !== state.sessionId) {
        loadHistory(false);
      }
    }
  }

  function onChat(p) {
    if (p.sessionKey !== state.sessionKey) {
      if (p.state !== 'delta') refreshSessionsSoon();
      return;
    }
    const runId = p.runId || '';
    const key = runId.startsWith('inject-') ? `note:${runId.slice(7)}` : `assistant:${runId}`;
    if (p.state === 'delta') {
      state.running.add(runId);
      upsert({ key, role: 'assistant', runId, text: textOf(p.message), streaming: true });
      return;
    }
    state.running.delete(runId);
    if (p.state === 'final') {
      if (p.message) upsert({ key, role: 'assistant', runId, text: textOf(p.message), streaming: false, final: true });
      else if (state.entries.has(key)) { state.entries.get(key).el.remove(); state.entries.delete(key); }
      refreshSessionsSoon();
    } else if (p.state === 'aborted') {
      upsert({ key, role: 'assistant', runId, text: p.message ? textOf(p.message) : '', streaming: false, final: true,
        note: 'stopped' });
    } else if (p.state === 'error') {
      upsert({ key, role: 'assistant', runId, text: p.message ? textOf(p.message) : '', streaming: false, final: true,
        error: true, note: `run error: ${p.errorMessage || 'failed'}` });
    }
    updateChrome();
  }

  // ---- sending ----------------------------------------------------------------------------

  async function sendMessage(text, runId, sessionKey) {
    sessionKey = sessionKey || state.sessionKey;
    runId = runId || newIdempotencyKey();
    const here = () => sessionKey === state.sessionKey;
    state.unsent.set(runId, { sessionKey, text });
    if (here()) {
      state.running.add(runId);
      upsert({ key: `user:${runId}`, role: 'user', runId, text, note: 'sending…' });
    }
    try {
      await state.client.request('chat.send', { sessionKey, message: text, idempotencyKey: runId });
      state.unsent.delete(runId);
      if (here()) upsert({ key: `user:${runId}`, role: 'user', note: '' });
    } catch (err) {
      if (err.transport) {
        // not connected, or the connection dropped before the answer: re-sent after the reconnect
        if (here()) upsert({ key: `user:${runId}`, role: 'user', note: 'waiting for the connection…' });
        return;
      }
      state.unsent.delete(runId);
      if (here()) {
        state.running.delete(runId);
        upsert({ key: `user:${runId}`, role: 'user', error: true, note: `not sent: ${err.message}` });
      }
    }
  }

  /** Messages whose send was not acknowledged: the same idempotency key makes a re-send safe. */
  function resendUnsent() {
    for (const [runId, m] of [...state.unsent]) sendMessage(m.text, runId, m.sessionKey);
  }

  // ---- connection -------------------------------------------------------------------------

  function connect(token) {
    if (state.client) state.client.stop();
    el.login.hidden = true;
    el.app.classList.remove('needs-login');
    state.client = new GatewayClient({
      url: wsUrl(),
      token,
      client: { id: 'webchat-ui', mode: 'webchat', version: '0.1.0', platform: 'web' },
      scopes: ['operator.admin', 'operator.read', 'operator.write'],
      // chat and agent events only for the session shown (subscribed) and sessions sent to; the
      // list stays fresh through sessions.changed
      caps: ['switchboard.session-scoped-events'],
      // "online" once the transcript is loaded (below), so nothing typed races the catch-up
      onState: (s, why, retryInMs) => setStatus(s === 'online' ? 'connecting' : s, why, retryInMs),
      onEvent,
      onGap: () => loadHistory(true),
      onHello: async (hello, reconnected) => {
        const defaults = hello.snapshot && hello.snapshot.sessionDefaults;
        if (!state.sessionKey) state.sessionKey = (defaults && defaults.mainSessionKey) || 'main';
        state.client.request('health', {}).then(h => {
          if (h && h.workspace) el.workspace.textContent = h.workspace;
        }).catch(() => {});
        await state.client.request('sessions.subscribe', {}).catch(() => {});
        await watch(state.sessionKey);
        await loadHistory(reconnected);
        if (state.client.ready) setStatus('online');
        resendUnsent();
        loadSessions();
      },
      onFatal: (message, code, error) => {
        sessionStorage.removeItem(STORE.token);
        showLogin(code === 'AUTH_RATE_LIMITED' && error && error.retryAfterMs
          ? `${message} (wait ${Math.ceil(error.retryAfterMs / 1000)} s)` : message);
        setStatus('offline', message);
      }
    });
    state.client.start();
  }

  function showLogin(message) {
    el.app.classList.add('needs-login');
    el.login.hidden = false;
    el.loginError.textContent = message || '';
    el.tokenInput.focus();
  }

  // ---- wiring -----------------------------------------------------------------------------

  el.composer.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = el.input.value.trim();
    if (!text || el.send.disabled) return;
    el.input.value = '';
    sendMessage(text);
  });
  el.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); el.composer.requestSubmit(); }
  });
  el.stop.addEventListener('click', () => {
    state.client.request('chat.abort', { sessionKey: state.sessionKey }).catch(() => {});
  });
  el.newSession.addEventListener('click', async () => {
    try {
      const r = await state.client.request('sessions.create', {});
      await switchTo(r.key);
    } catch (_) { /* offline: the button is disabled anyway */ }
  });
  el.toggle.addEventListener('click', () => el.app.classList.toggle('show-sidebar'));
  el.scrim.addEventListener('click', () => el.app.classList.remove('show-sidebar'));
  el.logout.addEventListener('click', () => {
    sessionStorage.removeItem(STORE.token);
    if (state.client) state.client.stop();
    clearTranscript();
    setStatus('offline');
    showLogin('');
  });
  el.loginForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const t = el.tokenInput.value.trim();
    if (!t) return;
    el.tokenInput.value = '';
    sessionStorage.setItem(STORE.token, t);
    el.loginError.textContent = '';
    connect(t);
  });
  window.addEventListener('online', () => state.client && state.client.reconnectNow());

  readFragment();
  state.sessionKey = sessionStorage.getItem(STORE.session);
  setStatus('offline');
  updateChrome();
  const token = sessionStorage.getItem(STORE.token);
  if (token) connect(token); else showLogin('');
})();
