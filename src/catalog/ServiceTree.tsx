/**
 * The catalog's services, grouped by name with their versions. Every row is a button (Tab reaches
 * it, Enter/Space acts); the arrow keys move like in a tree: Up/Down between visible rows,
 * Right opens a group (or goes to its first version), Left goes back to the group (or closes it),
 * Home/End to the first/last row.
 */
import * as React from 'react';

import { IWebService } from '../api/types';
import { consumeIcon } from '../icons';
import { IServiceGroup, formatDate } from './group';

export interface IServiceTreeProps {
  groups: IServiceGroup[];
  collapsed: Record<string, boolean>;
  onToggle: (name: string, collapse: boolean) => void;
  onOpen: (service: IWebService) => void;
  onInsertConsume: (service: IWebService) => void;
}

const ROW = '[data-tree-row]';

export function ServiceTree(props: IServiceTreeProps): JSX.Element {
  const listRef = React.useRef<HTMLUListElement>(null);

  const onKeyDown = (e: React.KeyboardEvent<HTMLUListElement>) => {
    const rows = Array.from(listRef.current?.querySelectorAll<HTMLButtonElement>(ROW) ?? []);
    const current = e.target as HTMLElement;
    const i = rows.indexOf(current as HTMLButtonElement);
    if (i < 0) {
      return; // e.g. the insert-consume buttons: Tab and Enter only
    }
    const group = current.dataset.group ?? '';
    const isGroup = current.dataset.treeRow === 'group';
    const focus = (el: HTMLElement | undefined) => {
      if (el) {
        e.preventDefault();
        el.focus();
      }
    };
    const groupHead = () => rows.find(r => r.dataset.treeRow === 'group' && r.dataset.group === group);
    switch (e.key) {
      case 'ArrowDown':
        return focus(rows[i + 1]);
      case 'ArrowUp':
        return focus(rows[i - 1]);
      case 'Home':
        return focus(rows[0]);
      case 'End':
        return focus(rows[rows.length - 1]);
      case 'ArrowRight':
        if (isGroup && props.collapsed[group]) {
          e.preventDefault();
          props.onToggle(group, false);
        } else if (isGroup) {
          focus(rows[i + 1]?.dataset.treeRow === 'version' ? rows[i + 1] : undefined);
        }
        return;
      case 'ArrowLeft':
        if (!isGroup) {
          return focus(groupHead());
        }
        if (!props.collapsed[group]) {
          e.preventDefault();
          props.onToggle(group, true);
        }
        return;
    }
  };

  return (
    <ul className="o16n-groups" aria-label="Services" ref={listRef} onKeyDown={onKeyDown}>
      {props.groups.map(g => {
        const open = !props.collapsed[g.name];
        return (
          <li key={g.name} className="o16n-group">
            <button
              type="button"
              className="o16n-group-head"
              aria-expanded={open}
              data-tree-row="group"
              data-group={g.name}
              onClick={() => props.onToggle(g.name, open)}
            >
              <span className="o16n-caret" aria-hidden="true">
                {open ? '▾' : '▸'}
              </span>
              <span className="o16n-group-name">{g.name}</span>
              {g.versions.some(isRealtime) ? (
                <span className="o16n-badge o16n-badge-realtime" title="Has realtime versions: an ONNX model scored natively, no code">
                  Realtime
                </span>
              ) : null}
              <span className="o16n-muted o16n-count">
                {g.versions.length} version{g.versions.length > 1 ? 's' : ''}
              </span>
            </button>
            {open ? (
              <ul className="o16n-versions" aria-label={`Versions of ${g.name}`}>
                {g.versions.map(s => (
                  <VersionRow key={s.version} service={s} onOpen={props.onOpen} onInsertConsume={props.onInsertConsume} />
                ))}
              </ul>
            ) : null}
          </li>
        );
      })}
    </ul>
  );
}

/** A realtime service: a model alone (ONNX), scored natively (`runtimeType: "Realtime"`). */
export function isRealtime(service: IWebService): boolean {
  return (service.runtimeType ?? '').toLowerCase() === 'realtime';
}

/** The runtime of a version; realtime ones get a badge (screen readers read "Realtime service"). */
export function RuntimeBadge(props: { service: IWebService }): JSX.Element {
  const s = props.service;
  if (isRealtime(s)) {
    return (
      <span className="o16n-runtime">
        <span className="o16n-badge o16n-badge-realtime" title="A realtime service: an ONNX model scored natively, no code">
          Realtime<span className="o16n-visually-hidden"> service</span>
        </span>
      </span>
    );
  }
  return <span className="o16n-runtime">{s.runtimeType ?? ''}</span>;
}

function VersionRow(props: {
  service: IWebService;
  onOpen: (service: IWebService) => void;
  onInsertConsume: (service: IWebService) => void;
}): JSX.Element {
  const s = props.service;
  return (
    <li className="o16n-version">
      <button
        type="button"
        className="o16n-version-open"
        title={s.description ?? ''}
        aria-label={`Open ${s.name} ${s.version}`}
        data-tree-row="version"
        data-group={s.name}
        onClick={() => props.onOpen(s)}
        onKeyDown={e => {
          // open on keydown (and cancel the button's own click) so Enter behaves the same everywhere
          if (e.key === 'Enter') {
            e.preventDefault();
            props.onOpen(s);
          }
        }}
      >
        <span className="o16n-version-name">{s.version}</span>
        <RuntimeBadge service={s} />
        <span className="o16n-muted o16n-version-meta">
          {[s.versionPublishedBy ?? s.owner, formatDate(s.creationTime)].filter(Boolean).join(' · ')}
        </span>
        {s.description ? <span className="o16n-version-desc">{s.description}</span> : null}
      </button>
      <button
        type="button"
        className="o16n-insert-cell"
        aria-label={`Insert a consume cell for ${s.name} ${s.version}`}
        title="Insert a cell that calls this version into the current notebook"
        onClick={() => props.onInsertConsume(s)}
      >
        <consumeIcon.react tag="span" className="o16n-insert-cell-icon" />
        <span className="o16n-insert-cell-text">Consume cell</span>
      </button>
    </li>
  );
}
