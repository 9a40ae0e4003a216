/**
 * The webview side of the host channel: typed postMessage, the persisted panel state
 * (getState/setState) and forwarding of uncaught errors to the host's log.
 */
import type { HostMessage, PanelState, WebviewMessage } from '../../src/common/messages';

interface VsCodeApi {
  postMessage(m: unknown): void;
  getState(): unknown;
  setState(s: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const api: VsCodeApi = acquireVsCodeApi();

export function post(m: WebviewMessage): void {
  api.postMessage(m);
}

export function loadState(): PanelState {
  const s = api.getState() as PanelState | undefined;
  return s && Array.isArray(s.sources) ? s : { sources: [] };
}

export function saveState(s: PanelState): void {
  api.setState(s);
}

/** Calls `cb` for every message from the host, then says `ready` (the host waits for it). */
export function connect(cb: (m: HostMessage) => void): void {
  window.addEventListener('message', (e: MessageEvent) => {
    const m = e.data as HostMessage;
    if (!m || typeof m !== 'object' || typeof m.type !== 'string') return;
    try {
      cb(m);
    } catch (err) {
      post({ type: 'log', level: 'error', message: `handling ${m.type}: ${(err as Error).stack ?? err}` });
    }
  });
  window.addEventListener('error', (e) => post({ type: 'log', level: 'error', message: `${e.message} (${e.filename}:${e.lineno})` }));
  window.addEventListener('unhandledrejection', (e) => post({ type: 'log', level: 'error', message: `unhandled rejection: ${String(e.reason)}` }));
  post({ type: 'ready' });
}
