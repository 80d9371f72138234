import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chartGeometry, cumulativeLine, niceStep, pathOf, timeLabel } from './chart-geometry.ts';

const box = { width: 600, height: 200, margin: { top: 10, right: 10, bottom: 30, left: 40 } };
const MIN = 60_000;

describe('the progress chart\'s geometry', () => {
  test('steps are 1, 2 or 5 times a power of ten', () => {
    assert.deepEqual([0, 0.3, 1, 1.5, 3, 7, 12, 45, 180, 2_400].map(niceStep), [1, 1, 1, 2, 5, 10, 20, 50, 200, 5_000]);
  });

  test('the axes cover the values and the time span, with round ticks', () => {
    const start = Date.UTC(2026, 11, 2, 10, 3);
    const g = chartGeometry(box, start, start + 20 * MIN, 37, { utc: true });
    assert.equal(g.yMax, 40);
    assert.deepEqual(g.yTicks.map((t) => t.label), ['0', '10', '20', '30', '40']);
    assert.equal(g.y(0), 170);
    assert.equal(g.y(40), 10);
    assert.equal(g.x(start), 40);
    assert.equal(g.x(start + 20 * MIN), 590);
    assert.deepEqual(g.xTicks.map((t) => t.label), ['10:05', '10:10', '10:15', '10:20']);
    // Nothing yet: an axis from 0 to 1, and a span of at least a minute.
    const empty = chartGeometry(box, start, start, 0, { utc: true });
    assert.equal(empty.yMax, 1);
    assert.equal(empty.end - empty.start, MIN);
  });

  test('a cumulative series starts at zero, rises across the bucket of each change, and holds to the end', () => {
    const start = 0;
    const line = cumulativeLine([{ at: 3 * MIN, value: 10 }, { at: 6 * MIN, value: 12 }], MIN, start, 10 * MIN);
    assert.deepEqual(line, [
      { at: 0, value: 0 },
      { at: 2 * MIN, value: 0 },
      { at: 3 * MIN, value: 10 },
      { at: 5 * MIN, value: 10 },
      { at: 6 * MIN, value: 12 },
      { at: 10 * MIN, value: 12 },
    ]);
    // A change in the first bucket rises from the start; adjacent buckets do not repeat a point.
    assert.deepEqual(cumulativeLine([{ at: MIN, value: 1 }, { at: 2 * MIN, value: 3 }], MIN, 0, 2 * MIN), [
      { at: 0, value: 0 },
      { at: MIN, value: 1 },
      { at: 2 * MIN, value: 3 },
    ]);
    const g = chartGeometry(box, 0, 10 * MIN, 12);
    assert.match(pathOf(line, g), /^M40\.0,170\.0 L/);
  });

  test('time labels name the day when the chart spans more than one', () => {
    const at = Date.UTC(2026, 11, 2, 9, 30);
    assert.equal(timeLabel(at, 3_600_000, true), '09:30');
    assert.equal(timeLabel(at, 3 * 86_400_000, true), '02/12 09:30');
    assert.equal(timeLabel(at, 30 * 86_400_000, true), '02/12');
  });
});

describe('the console\'s words', () => {
  test('times, durations and the 72-hour clock', async () => {
    const { deadlineWords, formatDuration, formatTime, listOf } = await import('./console-format.ts');
    assert.match(formatTime('2026-12-02T09:30:00.000Z'), /2026/);
    assert.equal(formatDuration(30_000), 'under a minute');
    assert.equal(formatDuration(12 * MIN), '12 min');
    assert.equal(formatDuration(41 * 60 * MIN + 12 * MIN), '41 h 12 min');
    const deadline = '2026-12-04T09:30:00.000Z';
    assert.equal(deadlineWords(deadline, Date.parse(deadline) - 3 * 60 * MIN, false), '3 h left until the 72-hour notification deadline');
    assert.equal(deadlineWords(deadline, Date.parse(deadline) + 90 * MIN, false), 'The 72-hour notification deadline passed 1 h 30 min ago');
    assert.deepEqual(listOf(' a, b\n\nc \n'), ['a', 'b', 'c']);
  });
});
