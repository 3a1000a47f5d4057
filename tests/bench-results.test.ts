import { describe, expect, it } from 'vitest';
import { placeSection } from '../bench/lib.mjs';

const place = placeSection as (existing: string, scenario: string, major: string, section: string) => string;
const section = (tag: string, body: string) => `<!-- scenario:${tag} -->\n${body}\n<!-- /scenario:${tag} -->`;
const before = [
  '# Benchmark results',
  section('tracing', '## tracing\n\n`npm run bench -- tracing` — commit a, 2 × cpu, 24 GiB, Node v20.20.2, PostgreSQL, 2026-11-26\n\nNode 20 figures'),
  section('tracing-extra', 'a scenario whose name starts with another’s'),
  '',
].join('\n\n');

describe('bench/RESULTS.md keeps each runtime’s figures of a scenario side by side', () => {
  it('adds another runtime’s section after the scenario’s, and keeps the one it does not replace', () => {
    const after = place(before, 'tracing', '26', section('tracing node26', 'Node 26 figures'));
    expect(after).toContain('Node 20 figures');
    expect(after.indexOf('Node 20 figures')).toBeLessThan(after.indexOf('Node 26 figures'));
    expect(after.indexOf('Node 26 figures')).toBeLessThan(after.indexOf('a scenario whose name starts'));
  });

  it('replaces the section of the same runtime, tagged or (from before the tags) named in its header', () => {
    const with26 = place(before, 'tracing', '26', section('tracing node26', 'Node 26 figures'));
    const again26 = place(with26, 'tracing', '26', section('tracing node26', 'Node 26 again'));
    expect(again26).not.toContain('Node 26 figures');
    expect(again26).toContain('Node 26 again');
    const again20 = place(again26, 'tracing', '20', section('tracing node20', 'Node 20 again'));
    expect(again20).not.toContain('Node 20 figures');
    expect(again20.match(/<!-- scenario:tracing( node\d+)? -->/g)).toEqual(['<!-- scenario:tracing node20 -->', '<!-- scenario:tracing node26 -->']);
    expect(again20).toContain('a scenario whose name starts');
  });

  it('appends a scenario that has no section yet', () => {
    expect(place(before, 'swap', '26', section('swap node26', 'new')).trimEnd().endsWith(section('swap node26', 'new'))).toBe(true);
  });

  it('keeps the hand-written notes after a scenario’s sections when it rewrites or adds a section', () => {
    const notes = '<!-- notes:tracing -->\nWhy on-10 costs what it does, by hand.\n<!-- /notes:tracing -->';
    const withNotes = before.replace(section('tracing-extra', ''), '').replace('<!-- /scenario:tracing -->', `<!-- /scenario:tracing -->\n\n${notes}`);
    const rewritten = place(withNotes, 'tracing', '20', section('tracing node20', 'Node 20 again'));
    expect(rewritten).not.toContain('Node 20 figures');
    expect(rewritten).toContain(notes);
    const added = place(rewritten, 'tracing', '26', section('tracing node26', 'Node 26 figures'));
    expect(added).toContain(notes);
    expect(added.indexOf('Node 20 again')).toBeLessThan(added.indexOf('Node 26 figures'));
    expect(added.indexOf('Node 26 figures')).toBeLessThan(added.indexOf(notes));
  });

  it('puts a first run’s section above notes written before it', () => {
    const notes = '<!-- notes:swap -->\nwritten first\n<!-- /notes:swap -->';
    const after = place(`${before}\n${notes}\n\n<!-- scenario:usage -->\nu\n<!-- /scenario:usage -->\n`, 'swap', '26', section('swap node26', 'new'));
    expect(after.indexOf('new')).toBeLessThan(after.indexOf(notes));
    expect(after).toContain(notes);
    expect(after.indexOf(notes)).toBeLessThan(after.indexOf('<!-- scenario:usage -->'));
  });
});
