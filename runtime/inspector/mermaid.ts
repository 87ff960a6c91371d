/**
 * A chart (definition.ts) as a Mermaid `stateDiagram-v2`, for the docs (GitHub renders it).
 *
 * Mermaid cannot draw every statechart edge: an arrow between states nested in different
 * composite states is not supported, a composite state cannot carry a description, and there is
 * no arrow from a state to its own descendant. So each transition is drawn in the innermost
 * composite that holds both ends, between the two children of that composite that contain them,
 * and the label says where it really starts or ends (`(in link.live)`, `→ presence.syncing`).
 * What cannot be an arrow at all (transitions of the machine itself, targetless transitions of
 * composite states) is returned in `notes`, for the text under the diagram.
 */
import type { Chart, ChartNode, ChartTransition } from './definition.ts';

export interface MermaidChart {
  /** the diagram, without the ```mermaid fence */
  diagram: string;
  /** transitions the diagram cannot show, one Markdown sentence each */
  notes: string[];
}

const RESERVED = new Set(['state', 'note', 'end', 'direction', 'class', 'classdef', 'style', 'click', 'as', 'left', 'right', 'of', 'tb', 'bt', 'lr', 'rl']);

/** Text safe inside a Mermaid label (no statement separators, comments or entity markers). */
export function mermaidText(s: string): string {
  return s.replace(/[;#:{}"`<>]/g, (c) => ({ ';': ',', '#': '', ':': ' ', '{': '(', '}': ')', '"': "'", '`': "'", '<': '‹', '>': '›' })[c] ?? '');
}

function guardText(t: ChartTransition): string {
  return t.guard ? ` [${t.guard}]` : '';
}

export function toMermaid(chart: Chart): MermaidChart {
  const nodes = new Map<string, ChartNode>();
  const parent = new Map<string, ChartNode | null>();
  const visit = (n: ChartNode, p: ChartNode | null) => {
    nodes.set(n.id, n);
    parent.set(n.id, p);
    n.states.forEach((c) => visit(c, n));
  };
  visit(chart.root, null);

  // Mermaid ids: the state's key where it is unique in the machine, else its path.
  const keyCount = new Map<string, number>();
  for (const n of nodes.values()) if (n !== chart.root) keyCount.set(n.key, (keyCount.get(n.key) ?? 0) + 1);
  const ids = new Map<string, string>();
  const used = new Set<string>();
  for (const n of nodes.values()) {
    if (n === chart.root) continue;
    const plain = /^[A-Za-z][A-Za-z0-9_]*$/.test(n.key) && keyCount.get(n.key) === 1 && !RESERVED.has(n.key.toLowerCase());
    let id = plain ? n.key : n.path.join('_').replace(/[^A-Za-z0-9_]/g, '_');
    if (!/^[A-Za-z]/.test(id) || RESERVED.has(id.toLowerCase())) id = `s_${id}`;
    while (used.has(id)) id += '_';
    used.add(id);
    ids.set(n.id, id);
  }
  const mid = (n: ChartNode) => ids.get(n.id) as string;

  const ancestors = (n: ChartNode): ChartNode[] => {
    const out: ChartNode[] = [];
    for (let p: ChartNode | null = n; p; p = parent.get(p.id) ?? null) out.unshift(p);
    return out;
  };
  const rel = (n: ChartNode, under: ChartNode) => n.path.slice(under.path.length).join('.');
  const label = (n: ChartNode) => (n.path.length > 0 ? n.path.join('.') : chart.id);

  // Edges, grouped by the composite they are drawn in.
  const edges = new Map<string, string[]>();
  const notes: string[] = [];
  const descriptions = new Map<string, string[]>();
  const addEdge = (scope: ChartNode, line: string) => {
    const list = edges.get(scope.id) ?? [];
    list.push(line);
    edges.set(scope.id, list);
  };

  for (const source of nodes.values()) {
    for (const t of source.transitions) {
      const text = `${t.label}${guardText(t)}`;
      if (t.targets.length === 0) {
        if (source.states.length === 0 && source !== chart.root) {
          const list = descriptions.get(source.id) ?? [];
          list.push(`${text} (stays)`);
          descriptions.set(source.id, list);
        } else {
          notes.push(`${source === chart.root ? 'In every state' : `In ${label(source)}`}: \`${text}\`, without leaving the state.`);
        }
        continue;
      }
      for (const targetId of t.targets) {
        const target = nodes.get(targetId);
        if (!target) continue;
        if (source === chart.root || target === chart.root) {
          notes.push(`${source === chart.root ? 'In every state' : `In ${label(source)}`}: \`${text}\` → ${label(target)}.`);
          continue;
        }
        const sa = ancestors(source);
        const ta = ancestors(target);
        let common = 0;
        while (common < sa.length && common < ta.length && sa[common] === ta[common]) common++;
        // The innermost composite strictly containing both ends; when one end contains the
        // other, the edge becomes a self-loop on the outer one.
        const scopeDepth = common === sa.length || common === ta.length ? common - 2 : common - 1;
        const scope = sa[scopeDepth] as ChartNode;
        const from = sa[scopeDepth + 1] as ChartNode;
        const to = ta[scopeDepth + 1] as ChartNode;
        let qualified = text;
        if (from !== source) qualified += ` (in ${rel(source, from)})`;
        if (to !== target) qualified += ` → ${rel(target, to)}`;
        if (source === target && t.reenter) qualified += ' ↻';
        addEdge(scope, `${mid(from)} --> ${mid(to)} : ${mermaidText(qualified)}`);
      }
    }
  }

  const lines: string[] = ['stateDiagram-v2'];
  if (chart.root.states.length === 0) {
    // a machine without states: one box, its transitions written inside
    const id = /^[A-Za-z][A-Za-z0-9_]*$/.test(chart.id) && !RESERVED.has(chart.id.toLowerCase()) ? chart.id : 'machine';
    lines.push(`  state "${mermaidText(chart.id)}" as ${id}`);
    for (const t of chart.root.transitions) {
      const targets = t.targets.map((x) => nodes.get(x)).filter((x): x is ChartNode => !!x);
      const to = targets.length === 0 || targets.every((x) => x === chart.root) ? ' (stays)' : '';
      lines.push(`  ${id} : ${mermaidText(`${t.label}${guardText(t)}${to}`)}`);
    }
    lines.push(`  [*] --> ${id}`);
    if (chart.root.type === 'final') lines.push(`  ${id} --> [*]`);
    return { diagram: lines.join('\n'), notes: [] };
  }
  const emit = (n: ChartNode, indent: string) => {
    // declarations: atomic children with their descriptions, composite children as blocks
    for (const c of n.states) {
      if (c.states.length === 0) {
        lines.push(`${indent}state "${mermaidText(c.key)}" as ${mid(c)}`);
        for (const inv of c.invoke) lines.push(`${indent}${mid(c)} : invoke ${mermaidText(inv.src)}`);
        for (const d of descriptions.get(c.id) ?? []) lines.push(`${indent}${mid(c)} : ${mermaidText(d)}`);
      }
    }
    const composites = n.states.filter((c) => c.states.length > 0);
    if (n.type === 'parallel') {
      composites.forEach((c, i) => {
        if (i > 0) lines.push(`${indent}--`);
        block(c, indent);
      });
    } else for (const c of composites) block(c, indent);
    if (n.type === 'compound' && n.initial) {
      const init = nodes.get(n.initial);
      if (init) lines.push(`${indent}[*] --> ${mid(init)}`);
    }
    for (const e of edges.get(n.id) ?? []) lines.push(`${indent}${e}`);
    for (const c of n.states) if (c.type === 'final') lines.push(`${indent}${mid(c)} --> [*]`);
  };
  const block = (c: ChartNode, indent: string) => {
    lines.push(`${indent}state ${mid(c)} {`);
    emit(c, indent + '  ');
    lines.push(`${indent}}`);
  };
  emit(chart.root, '  ');
  return { diagram: lines.join('\n'), notes };
}
