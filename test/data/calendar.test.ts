import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePromo, buildCalendar, checkCalendarRange, dayOfDate, dateOfDay, promoOfDay } from '../../src/data/calendar.js';
import { CmdcmError } from '../../src/util/errors.js';

const D = (s: string) => dayOfDate(s)!;

test('parsePromo reads DATE:DAYS into a local day number', () => {
  const p = parsePromo('2014-12-12:10');
  assert.equal(p.date, '2014-12-12');
  assert.equal(p.preDays, 10);
  // independent oracle: Date.parse of the UTC midnight
  assert.equal(p.day, Date.parse('2014-12-12T00:00:00Z') / 86400000);
  assert.equal(dateOfDay(p.day), '2014-12-12');
});

test('parsePromo errors name the flag and the bad value', () => {
  for (const bad of ['2014-12-12', '2014-12-12:', '12/12/2014:10', '2014-02-30:5', '2014-12-12:0', '2014-12-12:x', '']) {
    assert.throws(() => parsePromo(bad), (e: unknown) => e instanceof CmdcmError && /^--promo: /.test(e.message) && e.message.includes(bad === '' ? "''" : bad.split(':')[0]), bad);
  }
});

test('buildCalendar sorts chronologically; the last given is the target unless --target says otherwise', () => {
  const c = buildCalendar(['2014-12-12:10', '2014-11-11:10']);
  assert.deepEqual(c.promotions.map((p) => p.date), ['2014-11-11', '2014-12-12']);
  // last given was 2014-11-11
  assert.equal(c.promotions[c.target].date, '2014-11-11');
  const c2 = buildCalendar(['2014-11-11:10', '2014-12-12:10']);
  assert.equal(c2.promotions[c2.target].date, '2014-12-12');
  assert.equal(buildCalendar(['2014-11-11:10', '2014-12-12:10'], '0').target, 0);
  assert.equal(buildCalendar(['2014-12-12:10', '2014-11-11:10'], '2014-12-12').target, 1);
  assert.throws(() => buildCalendar(['2014-11-11:10'], '3'), /--target: index 3 is out of range/);
  assert.throws(() => buildCalendar(['2014-11-11:10'], '2014-06-18'), /--target: '2014-06-18' is neither/);
  assert.throws(() => buildCalendar([]), /--promo: at least one/);
});

test('overlapping or duplicate promotions are refused', () => {
  assert.throws(() => buildCalendar(['2014-11-11:10', '2014-11-20:10']), /--promo: promotions overlap: 2014-11-20's 10-day pre-window starts 2014-11-10, on or before 2014-11-11/);
  assert.throws(() => buildCalendar(['2014-11-11:10', '2014-11-11:3']), /given twice/);
  // adjacent is fine: pre-window starts the day after the earlier promotion day
  const c = buildCalendar(['2014-11-11:10', '2014-11-22:10']);
  assert.equal(c.promotions.length, 2);
});

test('checkCalendarRange: the target needs part of its pre-window in the log; a historical promotion outside it is kept (prepare warns)', () => {
  const cal = buildCalendar(['2014-11-11:10', '2014-12-12:10']);
  checkCalendarRange(cal, D('2014-11-01'), D('2014-12-12'));
  checkCalendarRange(cal, D('2014-11-05'), D('2014-12-05')); // target outcome unknown is fine
  checkCalendarRange(cal, D('2014-11-18'), D('2014-12-18')); // the public Tianchi 2014 log starts after Double 11
  checkCalendarRange(cal, D('2014-11-11'), D('2014-12-18')); // no pre-window day in the log
  assert.throws(() => checkCalendarRange(cal, D('2014-11-01'), D('2014-11-30')), /--promo: the target promotion 2014-12-12:10 has its pre-window 2014-12-02 \.\. 2014-12-11 outside/);
  const back = buildCalendar(['2014-11-11:10', '2014-12-12:10'], '2014-11-11');
  assert.throws(() => checkCalendarRange(back, D('2014-11-01'), D('2014-12-12')), /--target: .*2014-12-12 come after the target 2014-11-11/);
});

test('promoOfDay: pre-window is [day - preDays, day)', () => {
  const cal = buildCalendar(['2014-11-11:10', '2014-12-12:3']);
  assert.equal(promoOfDay(cal, D('2014-11-01')), 0);
  assert.equal(promoOfDay(cal, D('2014-10-31')), -1);
  assert.equal(promoOfDay(cal, D('2014-11-10')), 0);
  assert.equal(promoOfDay(cal, D('2014-11-11')), -1);
  assert.equal(promoOfDay(cal, D('2014-12-08')), -1);
  assert.equal(promoOfDay(cal, D('2014-12-09')), 1);
  assert.equal(promoOfDay(cal, D('2014-12-11')), 1);
});
