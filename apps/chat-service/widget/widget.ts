/// <reference lib="dom" />
/**
 * OneQueue chat widget: one script tag, no framework.
 *
 *   <script src="https://chat.example.com/widget/widget.js" data-inbox="<inbox id>"
 *           data-user-token="<JWT from your backend>" async></script>
 *
 * Signed-in users: data-user-token (HS256 JWT with user_id, exp) or data-user-id + data-user-hash.
 * Without them the widget chats as an anonymous visitor whose token it keeps in localStorage.
 * Bundled by chat-service with esbuild (socket.io-client included) and served at /widget/widget.js.
 */
import { io, Socket } from 'socket.io-client';

interface ChatMessage {
  id: string;
  clientId?: string | null;
  direction: 'inbound' | 'outbound';
  text: string;
  attachments: { sha256: string; filename: string; size: number; contentType: string }[];
  createdAt: string;
  state?: 'sending' | 'sent' | 'failed';
}

interface Session {
  agentsOnline: boolean;
  withinBusinessHours: boolean;
  nextOpenAt: string | null;
  expectedReplyMinutes: number | null;
  greeting: string | null;
}

const script = document.currentScript as HTMLScriptElement | null;
const data = script?.dataset ?? {};
const server = data.server || (script ? new URL(script.src).origin : location.origin);
const inboxId = data.inbox || '';
const title = data.title || 'Chat with us';
const visitorKey = `oq-chat-visitor:${inboxId}`;

const CSS = `
:host { all: initial; font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.launcher { position: fixed; right: 20px; bottom: 20px; width: 56px; height: 56px; border-radius: 50%;
  background: #1f6feb; color: #fff; border: 0; cursor: pointer; box-shadow: 0 4px 14px rgba(0,0,0,.25);
  font-size: 26px; z-index: 2147483000; }
.launcher .badge { position: absolute; top: -2px; right: -2px; background: #d1242f; border-radius: 10px;
  font-size: 12px; padding: 2px 6px; display: none; }
.panel { position: fixed; right: 20px; bottom: 88px; width: 360px; max-width: calc(100vw - 40px);
  height: 520px; max-height: calc(100vh - 120px); background: #fff; border-radius: 12px;
  box-shadow: 0 8px 30px rgba(0,0,0,.25); display: none; flex-direction: column; overflow: hidden; z-index: 2147483000; }
.panel.open { display: flex; }
header { background: #1f6feb; color: #fff; padding: 12px 14px; }
header h2 { margin: 0; font-size: 16px; }
header .status { font-size: 12px; opacity: .9; margin-top: 2px; }
.list { flex: 1; overflow-y: auto; padding: 12px; background: #f6f8fa; display: flex; flex-direction: column; gap: 6px; }
.msg { max-width: 78%; padding: 8px 10px; border-radius: 10px; font-size: 14px; line-height: 1.35;
  white-space: pre-wrap; word-wrap: break-word; }
.msg.inbound { align-self: flex-end; background: #1f6feb; color: #fff; border-bottom-right-radius: 2px; }
.msg.outbound { align-self: flex-start; background: #fff; color: #1f2328; border: 1px solid #d0d7de; border-bottom-left-radius: 2px; }
.msg .meta { font-size: 10px; opacity: .7; margin-top: 3px; }
.msg a { color: inherit; }
.msg.failed { background: #d1242f; }
.typing { font-size: 12px; color: #57606a; padding: 0 14px 4px; min-height: 16px; background: #f6f8fa; }
.notice { font-size: 12px; color: #57606a; text-align: center; padding: 4px; }
form { display: flex; border-top: 1px solid #d0d7de; }
textarea { flex: 1; border: 0; resize: none; padding: 10px; font: inherit; font-size: 14px; height: 44px; outline: none; }
button.icon { background: none; border: 0; cursor: pointer; font-size: 18px; padding: 0 10px; color: #57606a; }
button.send { color: #1f6feb; font-weight: 600; font-size: 14px; }
`;

class ChatWidget {
  private readonly root: ShadowRoot;
  private readonly panel: HTMLElement;
  private readonly list: HTMLElement;
  private readonly statusEl: HTMLElement;
  private readonly typingEl: HTMLElement;
  private readonly input: HTMLTextAreaElement;
  private readonly badge: HTMLElement;
  private socket?: Socket;
  private readonly messages = new Map<string, ChatMessage>();
  private readonly pending = new Map<string, { text: string; attachments: ChatMessage['attachments'] }>();
  private unread = 0;
  private typingTimer?: number;
  private agentTypingTimer?: number;

  constructor() {
    const host = document.createElement('div');
    host.id = 'oq-chat';
    document.body.appendChild(host);
    this.root = host.attachShadow({ mode: 'open' });
    this.root.innerHTML = `<style>${CSS}</style>
      <button class="launcher" aria-label="Open chat">💬<span class="badge"></span></button>
      <section class="panel" role="dialog" aria-label="${escapeHtml(title)}">
        <header><h2>${escapeHtml(title)}</h2><div class="status">Connecting…</div></header>
        <div class="list" aria-live="polite"></div>
        <div class="typing"></div>
        <form>
          <button type="button" class="icon attach" aria-label="Attach a file">📎</button>
          <input type="file" hidden>
          <textarea placeholder="Write a message…" aria-label="Message"></textarea>
          <button type="submit" class="icon send">Send</button>
        </form>
      </section>`;
    this.panel = this.root.querySelector('.panel')!;
    this.list = this.root.querySelector('.list')!;
    this.statusEl = this.root.querySelector('.status')!;
    this.typingEl = this.root.querySelector('.typing')!;
    this.input = this.root.querySelector('textarea')!;
    this.badge = this.root.querySelector('.badge')!;
    const file = this.root.querySelector<HTMLInputElement>('input[type=file]')!;
    this.root.querySelector('.launcher')!.addEventListener('click', () => this.toggle());
    this.root.querySelector('.attach')!.addEventListener('click', () => file.click());
    file.addEventListener('change', () => {
      if (file.files?.[0]) void this.sendFile(file.files[0]);
      file.value = '';
    });
    this.root.querySelector('form')!.addEventListener('submit', (e) => {
      e.preventDefault();
      this.sendText();
    });
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey) {
        e.preventDefault();
        this.sendText();
      }
    });
    this.input.addEventListener('input', () => this.typing());
  }

  async start() {
    const auth = await this.credentials();
    this.socket = io(server, { path: '/chat/socket', auth, transports: ['websocket', 'polling'] });
    this.socket.on('connect', () => {
      this.setStatus('Connected');
      // Reconnects reload history (replies sent while away) and resend what was never acknowledged.
      void this.loadHistory();
      for (const [clientId, m] of this.pending) this.emitSend(clientId, m.text, m.attachments);
    });
    this.socket.on('disconnect', () => this.setStatus('Reconnecting…'));
    this.socket.on('connect_error', (err: Error & { data?: { code?: string } }) => {
      if (err.data?.code === 'invalid_visitor') {
        localStorage.removeItem(visitorKey);
        void this.credentials().then((a) => {
          this.socket!.auth = a;
          this.socket!.connect();
        });
      }
      this.setStatus(`Cannot connect (${err.message})`);
    });
    this.socket.on('session', (s: Session) => this.showSession(s));
    this.socket.on('message', (m: ChatMessage, ack?: (ok: boolean) => void) => {
      ack?.(true);
      this.typingEl.textContent = '';
      this.upsert(m);
      if (m.direction === 'outbound') {
        if (this.isOpen()) this.markRead([m.id]);
        else this.bumpUnread();
      }
    });
    this.socket.on('typing', (t: { typing: boolean; agentName: string | null }) => {
      this.typingEl.textContent = t.typing ? `${t.agentName || 'An agent'} is typing…` : '';
      window.clearTimeout(this.agentTypingTimer);
      if (t.typing) this.agentTypingTimer = window.setTimeout(() => (this.typingEl.textContent = ''), 8000);
    });
  }

  private async credentials(): Promise<Record<string, string>> {
    const auth: Record<string, string> = { inboxId };
    if (data.userToken) auth.userJwt = data.userToken;
    if (data.userId) auth.userId = data.userId;
    if (data.userHash) auth.userHash = data.userHash;
    if (data.name) auth.name = data.name;
    let token = localStorage.getItem(visitorKey);
    if (!token && !auth.userJwt && !auth.userHash) {
      const res = await fetch(`${server}/chat/${inboxId}/visitors`, { method: 'POST' });
      if (!res.ok) throw new Error(`chat unavailable (${res.status})`);
      token = ((await res.json()) as { token: string }).token;
      localStorage.setItem(visitorKey, token);
    }
    // A visitor who signs in keeps presenting the visitor token once, so the two are merged.
    if (token) auth.visitorToken = token;
    return auth;
  }

  private headers(): Record<string, string> {
    const a = (this.socket?.auth ?? {}) as Record<string, string>;
    const h: Record<string, string> = {};
    if (a.visitorToken) h['x-chat-visitor-token'] = a.visitorToken;
    if (a.userJwt) h['x-chat-user-token'] = a.userJwt;
    if (a.userId) h['x-chat-user-id'] = a.userId;
    if (a.userHash) h['x-chat-user-hash'] = a.userHash;
    return h;
  }

  private async loadHistory() {
    try {
      const res = await fetch(`${server}/chat/${inboxId}/messages?limit=50`, { headers: this.headers() });
      if (!res.ok) return;
      const page = (await res.json()) as {
        messages: (ChatMessage & { externalId: string | null; deliveryStatus: string | null })[];
      };
      for (const m of page.messages.reverse()) {
        const clientId = m.externalId?.split(':').pop() ?? null;
        if (clientId && this.messages.has(clientId)) this.messages.delete(clientId);
        this.upsert({ ...m, clientId, state: 'sent' });
      }
      const unreadReplies = page.messages.filter((m) => m.direction === 'outbound' && m.deliveryStatus !== 'read');
      if (this.isOpen() && unreadReplies.length) this.markRead(unreadReplies.map((m) => m.id));
    } catch {
      /* history is best effort; live messages still arrive */
    }
  }

  private sendText() {
    const text = this.input.value.trim();
    if (!text) return;
    this.input.value = '';
    this.send(text, []);
  }

  send(text: string, attachments: ChatMessage['attachments']) {
    const clientId = `c${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
    this.pending.set(clientId, { text, attachments });
    this.upsert({
      id: clientId,
      clientId,
      direction: 'inbound',
      text,
      attachments,
      createdAt: new Date().toISOString(),
      state: 'sending',
    });
    this.emitSend(clientId, text, attachments);
  }

  private emitSend(clientId: string, text: string, attachments: ChatMessage['attachments']) {
    if (!this.socket?.connected) return; // resent on connect
    this.socket
      .timeout(10_000)
      .emit(
        'message:send',
        { clientId, text, attachments },
        (err: Error | null, ack: { ok: boolean; message?: string }) => {
          if (err) return; // no answer: stays pending and is resent with the same clientId
          this.pending.delete(clientId);
          const m = this.messages.get(clientId);
          if (m) {
            m.state = ack.ok ? 'sent' : 'failed';
            this.render();
          }
          if (!ack.ok) this.notice(ack.message ?? 'Message not sent');
        },
      );
  }

  private async sendFile(file: File) {
    try {
      const res = await fetch(`${server}/chat/${inboxId}/attachments`, {
        method: 'POST',
        headers: {
          ...this.headers(),
          'content-type': 'application/octet-stream',
          'x-filename': encodeURIComponent(file.name),
          'x-content-type': file.type || 'application/octet-stream',
        },
        body: file,
      });
      if (!res.ok)
        throw new Error(
          ((await res.json().catch(() => ({}))) as { message?: string }).message ?? `upload failed (${res.status})`,
        );
      const ref = (await res.json()) as ChatMessage['attachments'][number];
      this.send(this.input.value.trim(), [ref]);
      this.input.value = '';
    } catch (err) {
      this.notice((err as Error).message);
    }
  }

  private typing() {
    if (!this.socket?.connected) return;
    this.socket.emit('typing', { typing: true });
    window.clearTimeout(this.typingTimer);
    this.typingTimer = window.setTimeout(() => this.socket?.emit('typing', { typing: false }), 3000);
  }

  private markRead(ids: string[]) {
    this.socket?.emit('message:read', { messageIds: ids });
  }

  private upsert(m: ChatMessage) {
    const key = m.clientId ?? m.id;
    this.messages.set(key, { ...this.messages.get(key), ...m });
    this.render();
  }

  private render() {
    const sorted = [...this.messages.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    this.list.replaceChildren(
      ...sorted.map((m) => {
        const el = document.createElement('div');
        el.className = `msg ${m.direction}${m.state === 'failed' ? ' failed' : ''}`;
        el.dataset.id = m.id;
        el.textContent = m.text;
        for (const a of m.attachments ?? []) {
          const link = document.createElement('a');
          link.href = '#';
          link.textContent = `📎 ${a.filename}`;
          link.addEventListener('click', (e) => {
            e.preventDefault();
            void this.download(a);
          });
          el.appendChild(document.createElement('br'));
          el.appendChild(link);
        }
        const meta = document.createElement('div');
        meta.className = 'meta';
        const time = new Date(m.createdAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
        meta.textContent =
          m.state === 'sending' ? `${time} · sending…` : m.state === 'failed' ? `${time} · not sent` : time;
        el.appendChild(meta);
        return el;
      }),
    );
    this.list.scrollTop = this.list.scrollHeight;
  }

  private async download(a: ChatMessage['attachments'][number]) {
    const res = await fetch(
      `${server}/chat/${inboxId}/attachments/${a.sha256}?filename=${encodeURIComponent(a.filename)}`,
      {
        headers: this.headers(),
      },
    );
    if (!res.ok) return this.notice('Attachment unavailable');
    const url = URL.createObjectURL(await res.blob());
    const link = document.createElement('a');
    link.href = url;
    link.download = a.filename;
    link.click();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  private showSession(s: Session) {
    let status = s.agentsOnline && s.withinBusinessHours ? 'We are online' : 'We are away';
    if (!s.withinBusinessHours && s.nextOpenAt) status += ` · back ${new Date(s.nextOpenAt).toLocaleString()}`;
    else if (s.expectedReplyMinutes) status += ` · usually replies within ${s.expectedReplyMinutes} min`;
    this.setStatus(status);
    if (s.greeting && this.messages.size === 0) this.notice(s.greeting);
  }

  private notice(text: string) {
    const el = document.createElement('div');
    el.className = 'notice';
    el.textContent = text;
    this.list.appendChild(el);
  }

  private setStatus(text: string) {
    this.statusEl.textContent = text;
  }

  private isOpen() {
    return this.panel.classList.contains('open');
  }

  private bumpUnread() {
    this.unread++;
    this.badge.textContent = String(this.unread);
    this.badge.style.display = 'inline';
  }

  toggle(open = !this.isOpen()) {
    this.panel.classList.toggle('open', open);
    if (open) {
      this.unread = 0;
      this.badge.style.display = 'none';
      this.input.focus();
      const unreadReplies = [...this.messages.values()].filter((m) => m.direction === 'outbound').map((m) => m.id);
      if (unreadReplies.length) this.markRead(unreadReplies.slice(-100));
    }
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function boot() {
  if (!inboxId) {
    console.error('OneQueue chat: data-inbox is missing on the script tag');
    return;
  }
  const widget = new ChatWidget();
  (window as unknown as { OneQueueChat: unknown }).OneQueueChat = {
    open: () => widget.toggle(true),
    close: () => widget.toggle(false),
    send: (text: string) => widget.send(text, []),
  };
  widget.start().catch((err: Error) => console.error('OneQueue chat:', err.message));
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
else boot();
