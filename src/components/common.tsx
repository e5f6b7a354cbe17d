/** Small shared React pieces. */
import * as React from 'react';

export function EmptyState(props: { title: string; children?: React.ReactNode }): JSX.Element {
  return (
    <div className="o16n-empty" role="status">
      <p className="o16n-empty-title">{props.title}</p>
      {props.children ? <div className="o16n-empty-body">{props.children}</div> : null}
    </div>
  );
}

export function ErrorBox(props: { message: string | null | undefined; title?: string }): JSX.Element | null {
  if (!props.message) {
    return null;
  }
  return (
    <div className="o16n-error" role="alert">
      {props.title ? <strong>{props.title}: </strong> : null}
      {props.message}
    </div>
  );
}

export function Spinner(props: { label: string }): JSX.Element {
  return (
    <span className="o16n-spinner" role="progressbar" aria-label={props.label}>
      <span className="o16n-spinner-dot" aria-hidden="true" />
      {props.label}
    </span>
  );
}

/** Copy text to the clipboard (navigator.clipboard, else a hidden textarea). */
export async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && navigator.clipboard.writeText) {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch {
      // fall through
    }
  }
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'absolute';
  area.style.left = '-9999px';
  document.body.appendChild(area);
  area.select();
  try {
    document.execCommand('copy');
  } finally {
    document.body.removeChild(area);
  }
}

export function CopyButton(props: { text: string; label?: string }): JSX.Element {
  const [copied, setCopied] = React.useState(false);
  return (
    <button
      type="button"
      className="jp-Button jp-mod-styled jp-mod-reject o16n-copy"
      aria-label={props.label ?? 'Copy to clipboard'}
      onClick={async () => {
        await copyText(props.text);
        setCopied(true);
        window.setTimeout(() => setCopied(false), 1500);
      }}
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}

/** Pretty JSON for display; strings stay as they are. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') {
    return value;
  }
  try {
    const text = JSON.stringify(value, null, 1);
    return text && text.length < 120 ? JSON.stringify(value) : text ?? String(value);
  } catch {
    return String(value);
  }
}

/** Tabs, keyboard reachable (arrow keys move between tabs). */
export function Tabs<T extends string>(props: {
  tabs: { id: T; label: string }[];
  current: T;
  onChange: (id: T) => void;
  label: string;
}): JSX.Element {
  const refs = React.useRef<(HTMLButtonElement | null)[]>([]);
  return (
    <div className="o16n-tabs" role="tablist" aria-label={props.label}>
      {props.tabs.map((t, i) => (
        <button
          key={t.id}
          ref={el => (refs.current[i] = el)}
          role="tab"
          type="button"
          id={`o16n-tab-${t.id}`}
          aria-selected={t.id === props.current}
          tabIndex={t.id === props.current ? 0 : -1}
          className={`o16n-tab${t.id === props.current ? ' o16n-mod-current' : ''}`}
          onClick={() => props.onChange(t.id)}
          onKeyDown={e => {
            const delta = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
            if (delta) {
              const next = (i + delta + props.tabs.length) % props.tabs.length;
              props.onChange(props.tabs[next].id);
              refs.current[next]?.focus();
            }
          }}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}
