import { readFileSync } from 'node:fs';
import { setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import { findMachines, README, renderReadme, STORIES } from '../../runtime/inspector/charts.ts';
import { describeMachine } from '../../runtime/inspector/definition.ts';
import { mermaidText, toMermaid } from '../../runtime/inspector/mermaid.ts';

const toy = setup({
  types: { events: {} as { type: 'GO' } | { type: 'STOP' } | { type: 'PING' } | { type: 'RESET' } },
  guards: { ready: () => true },
}).createMachine({
  id: 'toy',
  initial: 'idle',
  on: { RESET: '.idle', PING: {} },
  states: {
    idle: { on: { GO: { target: 'busy.work.a', guard: 'ready' } }, always: { target: 'busy', guard: () => false } },
    busy: {
      type: 'parallel',
      on: { PING: {} },
      states: {
        work: { initial: 'a', states: { a: { after: { 100: 'b' } }, b: { on: { STOP: '#toy.done' } } } },
        watch: { initial: 'on', states: { on: { on: { PING: { target: 'on', reenter: true } } } } },
      },
    },
    done: { type: 'final' },
  },
});

describe('Mermaid charts', () => {
  const { diagram, notes } = toMermaid(describeMachine(toy));

  it('draws nested and parallel states, initial and final markers', () => {
    expect(diagram.split('\n')[0]).toBe('stateDiagram-v2');
    expect(diagram).toContain('  state busy {');
    expect(diagram).toMatch(/state work \{[\s\S]*\n {4}--\n {4}state watch \{/);
    expect(diagram).toContain('  [*] --> idle');
    expect(diagram).toContain('      [*] --> a');
    expect(diagram).toContain('  done --> [*]');
  });

  it('draws each arrow between siblings, saying where it really starts or ends', () => {
    expect(diagram).toContain('idle --> busy : GO [ready] → work.a');
    expect(diagram).toContain('busy --> done : STOP (in work.b)');
    expect(diagram).toContain('idle --> busy : always [guard]');
    expect(diagram).toContain('a --> b : after 100 ms');
    expect(diagram).toContain('on --> on : PING ↻');
  });

  it('lists what cannot be an arrow', () => {
    expect(notes).toEqual([
      'In every state: `RESET` → idle.',
      'In every state: `PING`, without leaving the state.',
      'In busy: `PING`, without leaving the state.',
    ]);
  });

  it('escapes label text', () => {
    expect(mermaidText('a;b#c:d{e}"f"')).toBe("a,bc d(e)'f'");
  });
});

describe('machines/README.md', () => {
  it('is up to date with the machines (run `npm run charts` when this fails)', async () => {
    const machines = await findMachines();
    const expected = renderReadme(machines);
    const current = readFileSync(README, 'utf8');
    expect(current, 'machines/README.md is stale: run `npm run charts`').toBe(expected);
  });

  it('has a section with a diagram for every machine in machines/', async () => {
    const machines = await findMachines();
    const ids = machines.map((m) => m.machine.id);
    expect(ids).toEqual(expect.arrayContaining(['registry', 'liveness', 'session']));
    const text = readFileSync(README, 'utf8');
    for (const id of ids) expect(text).toMatch(new RegExp(`## ${id}\\n[\\s\\S]*?\`\`\`mermaid\\nstateDiagram-v2\\n`));
    // the stories are ours, for the machines that existed when they were written
    for (const id of ['registry', 'liveness', 'session']) expect(STORIES[id]?.length).toBeGreaterThan(200);
  });
});
