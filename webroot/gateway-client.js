/*
 * A small client for the gateway WebSocket protocol (OpenClaw protocol v4 subset), shaped like
 * OpenClaw's reference client: wait for connect.challenge, send connect, then requests with
 * "<counter>:<uuid>" ids; events carry a per-connection seq (a jump is reported as a gap); a tick
 * watchdog closes a silent socket (4000 "tick timeout"); reconnects with backoff (1 s, doubling,
 * at most 30 s, with jitter). Authentication and protocol failures stop reconnecting.
 */
(function (global) {
  'use strict';

  function uuid() {
    if (global.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, x => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  const FIRST_BACKOFF_MS = 1000;
  const MAX_BACKOFF_MS = 30000;
  const REQUEST_TIMEOUT_MS = 30000;

  /** A failed request: the gateway's error object, or (transport: true) no answer at all. */
  class RequestError extends Error {
    constructor(error, transport) {
      super(error && error.message ? error.message : 'request failed');
      this.error = error || {};
      this.code = this.error.code;
      this.details = this.error.details || {};
      this.transport = !!transport;
    }
  }

  class GatewayClient {
    /**
     * opts: url, token, client ({id, mode, version}), scopes, caps, and callbacks onEvent(name, payload),
     * onState(state, why) with state connecting|online|offline, onHello(hello, reconnected),
     * onGap(expected, got), onFatal(message, code).
     */
    constructor(opts) {
      this.url = opts.url;
      this.token = opts.token;
      this.clientInfo = Object.assign({ id: 'webchat-ui', mode: 'webchat', version: '0.1.0', platform: 'web' },
        opts.client || {});
      this.scopes = opts.scopes || ['operator.read', 'operator.write'];
      this.caps = opts.caps || [];
      this.onEvent = opts.onEvent || (() => {});
      this.onState = opts.onState || (() => {});
      this.onHello = opts.onHello || (() => {});
      this.onGap = opts.onGap || (() => {});
      this.onFatal = opts.onFatal || (() => {});
      this.pending = new Map();
      this.backoff = FIRST_BACKOFF_MS;
      this.stopped = true;
      this.ready = false;
      this.ws = null;
      this.counter = 0;
      this.lastSeq = null;
      this.tickMs = 30000;
      this.lastFrameAt = 0;
      this.watchdog = null;
      this.retryTimer = null;
      this.connectedOnce = false;
      this.hello = null;
    }

    start() {
      this.stopped = false;
      this.open();
    }

    stop() {
      this.stopped = true;
      clearTimeout(this.retryTimer);
      clearInterval(this.watchdog);
      if (this.ws) this.ws.close(1000, 'bye');
    }

    /** Reconnects at once (e.g. the browser came back online) instead of waiting out the backoff. */
    reconnectNow() {
      if (this.stopped || (this.ws && this.ws.readyState <= WebSocket.OPEN)) return;
      clearTimeout(this.retryTimer);
      this.open();
    }

    open() {
      this.onState('connecting');
      this.counter = 0;
      this.lastSeq = null;
      this.ready = false;
      let ws;
      try {
        ws = new WebSocket(this.url);
      } catch (e) {
        this.closed({ code: 1006, reason: String(e) });
        return;
      }
      this.ws = ws;
      ws.onmessage = (e) => { if (this.ws === ws) this.frame(e.data); };
      ws.onclose = (e) => { if (this.ws === ws) this.closed(e); };
      ws.onerror = () => {};
    }

    closed(e) {
      clearInterval(this.watchdog);
      this.ready = false;
      for (const [, p] of this.pending) {
        clearTimeout(p.timer);
        p.reject(new RequestError({ code: 'UNAVAILABLE', message: 'connection closed' }, true));
      }
      this.pending.clear();
      if (this.stopped) {
        this.onState('offline', e && e.reason);
        return;
      }
      const jitter = Math.floor(Math.random() * 250);
      const wait = this.backoff + jitter;
      this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
      this.onState('offline', (e && e.reason) || 'connection lost', wait);
      this.retryTimer = setTimeout(() => { if (!this.stopped) this.open(); }, wait);
    }

    frame(data) {
      this.lastFrameAt = Date.now();
      let f;
      try { f = JSON.parse(data); } catch (_) { return; }
      if (!f || typeof f !== 'object') return;
      if (f.type === 'event') {
        if (f.event === 'connect.challenge') { this.connect(); return; }
        if (typeof f.seq === 'number') {
          const gap = this.lastSeq !== null && f.seq > this.lastSeq + 1;
          const expected = this.lastSeq === null ? null : this.lastSeq + 1;
          if (this.lastSeq === null || f.seq > this.lastSeq) this.lastSeq = f.seq;
          if (gap) this.onGap(expected, f.seq);
        }
        if (f.event === 'shutdown') this.onState('connecting', (f.payload && f.payload.reason) || 'gateway restarting');
        this.onEvent(f.event, f.payload || {});
      } else if (f.type === 'res') {
        const p = this.pending.get(f.id);
        if (!p) return;
        if (f.ok && p.expectFinal && f.payload && f.payload.status === 'accepted') return;
        this.pending.delete(f.id);
        clearTimeout(p.timer);
        if (f.ok) p.resolve(f.payload); else p.reject(new RequestError(f.error));
      }
    }

    connect() {
      const auth = this.token ? { token: this.token } : undefined;
      this.send('connect', {
        minProtocol: 4, maxProtocol: 4,
        client: this.clientInfo,
        role: 'operator',
        scopes: this.scopes,
        caps: this.caps,
        auth,
        userAgent: navigator.userAgent,
        locale: navigator.language
      }).then(hello => {
        this.backoff = FIRST_BACKOFF_MS;
        this.ready = true;
        this.hello = hello;
        this.tickMs = (hello && hello.policy && hello.policy.tickIntervalMs) || 30000;
        clearInterval(this.watchdog);
        this.watchdog = setInterval(() => {
          if (Date.now() - this.lastFrameAt > 2 * this.tickMs && this.ws && this.pending.size === 0) {
            this.ws.close(4000, 'tick timeout');
          }
        }, Math.min(this.tickMs, 5000));
        const again = this.connectedOnce;
        this.connectedOnce = true;
        this.onState('online');
        this.onHello(hello, again);
      }).catch(err => {
        const code = err.details && err.details.code;
        if (code && /^(AUTH_|PROTOCOL_MISMATCH|DEVICE_AUTH_)/.test(code)) {
          this.stopped = true;
          this.onFatal(err.message, code, err.error);
        }
        // anything else: the server closes the socket and we retry with backoff
      });
    }

    send(method, params, opts) {
      const id = `${++this.counter}:${uuid()}`;
      return new Promise((resolve, reject) => {
        if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
          reject(new RequestError({ code: 'UNAVAILABLE', message: 'not connected' }, true));
          return;
        }
        const timeoutMs = (opts && opts.timeoutMs) || REQUEST_TIMEOUT_MS;
        const timer = setTimeout(() => {
          if (this.pending.delete(id)) reject(new RequestError({ code: 'UNAVAILABLE', message: 'request timed out' }, true));
        }, timeoutMs);
        this.pending.set(id, { resolve, reject, timer, expectFinal: opts && opts.expectFinal });
        this.ws.send(JSON.stringify({ type: 'req', id, method, params }));
      });
    }

    request(method, params, opts) {
      if (!this.ready) return Promise.reject(new RequestError({ code: 'UNAVAILABLE', message: 'not connected' }, true));
      return this.send(method, params || {}, opts);
    }
  }

  global.GatewayClient = GatewayClient;
  global.newIdempotencyKey = uuid;
})(window);
