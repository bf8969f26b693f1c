// Tick computation and label formatting of the plot renderer.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  linearTicks, logTicks, datetimeTicks, formatBasic, formatLog, formatDatetime, niceStep,
  categoricalTicks, formatValue, DAY, HOUR, MINUTE, SECOND,
} from "../../python/docsync/static/plot/ticks.js";

test("linear ticks are nice multiples inside the interval", () => {
  assert.deepEqual(linearTicks(0, 10, 6).major, [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(linearTicks(-1.1, 1.1, 6).major, [-1, -0.5, 0, 0.5, 1]);
  const t = linearTicks(0.1, 0.7, 6);
  assert.deepEqual(t.major, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]); // no 0.30000000000000004
  assert.equal(t.step, 0.1);
});

test("linear ticks accept reversed and degenerate intervals", () => {
  assert.deepEqual(linearTicks(10, 0, 6).major, [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(linearTicks(3, 3).major, [3]);
  assert.deepEqual(linearTicks(NaN, 3).major, []);
});

test("minor ticks fall between majors", () => {
  const t = linearTicks(0, 10, 6, 5);
  assert.ok(t.minor.includes(0.4) && t.minor.includes(9.6));
  for (const m of t.major) assert.ok(!t.minor.includes(m));
});

test("nice step picks the closest tick count", () => {
  assert.equal(niceStep(100, 6), 20);
  assert.equal(niceStep(1e-6, 5), 2e-7);
  assert.equal(niceStep(0, 5), 0);
});

test("log ticks are powers of ten, thinned over many decades", () => {
  assert.deepEqual(logTicks(1, 1000, 6).major, [1, 10, 100, 1000]);
  assert.ok(logTicks(1, 1000).minor.includes(20));
  const wide = logTicks(1e-10, 1e10, 6).major;
  assert.ok(wide.length <= 7 && wide.length >= 3, String(wide));
  // less than a decade: linear ticks
  const narrow = logTicks(2, 8, 6);
  assert.equal(narrow.linear, true);
  assert.deepEqual(narrow.major, [2, 3, 4, 5, 6, 7, 8]);
});

test("basic formatter: minimal decimals, scientific outside the power limits", () => {
  assert.deepEqual(formatBasic([0, 0.5, 1, 1.5]), ["0.0", "0.5", "1.0", "1.5"]); // uniform, as Bokeh
  assert.deepEqual(formatBasic([0, 2, 4]), ["0", "2", "4"]);
  assert.deepEqual(formatBasic([0.25, 0.5, 0.75]), ["0.25", "0.50", "0.75"]);
  assert.deepEqual(formatBasic([0, 100000, 200000]), ["0", "1e+5", "2e+5"]);
  assert.deepEqual(formatBasic([0.0001, 0.0002]), ["1e-4", "2e-4"]);
  assert.deepEqual(formatBasic([-0, 1]), ["0", "1"]);
});

test("log formatter: plain numbers near 1, superscript powers outside", () => {
  assert.deepEqual(formatLog([0.01, 1, 100, 10000]), ["0.01", "1", "100", "10000"]);
  assert.deepEqual(formatLog([1e6, 1e-6]), ["10⁶", "10⁻⁶"]);
});

const utc = (...a) => Date.UTC(...a);

test("datetime ticks choose sensible units from years down to milliseconds", () => {
  const cases = [
    [utc(2000, 0, 1), utc(2020, 0, 1), "year"],
    [utc(2024, 0, 1), utc(2024, 11, 31), "month"],
    [utc(2024, 2, 1), utc(2024, 2, 20), "day"],
    [utc(2024, 2, 1), utc(2024, 2, 1, 12), "h"],
    [utc(2024, 2, 1, 10), utc(2024, 2, 1, 10, 30), "min"],
    [utc(2024, 2, 1, 10), utc(2024, 2, 1, 10, 0, 30), "s"],
    [utc(2024, 2, 1, 10), utc(2024, 2, 1, 10, 0, 0, 500), "ms"],
    [utc(2024, 2, 1, 10), utc(2024, 2, 1, 10, 0, 0, 3), "ms"],
  ];
  for (const [a, b, unit] of cases) {
    const t = datetimeTicks(a, b, 6);
    assert.equal(t.unit, unit, `${new Date(a).toISOString()}..${new Date(b).toISOString()}`);
    assert.ok(t.major.length >= 2 && t.major.length <= 13, `${unit}: ${t.major.length} ticks`);
    for (const v of t.major) assert.ok(v >= a && v <= b);
    const labels = formatDatetime(t.major, t.unit, t.step);
    assert.equal(new Set(labels).size, labels.length, `labels unique for ${unit}: ${labels}`);
  }
});

test("month ticks sit on month starts, year ticks on new year", () => {
  const t = datetimeTicks(utc(2024, 0, 15), utc(2024, 11, 15), 6);
  for (const v of t.major) assert.equal(new Date(v).getUTCDate(), 1);
  const y = datetimeTicks(utc(1990, 5, 1), utc(2030, 5, 1), 6);
  for (const v of y.major) assert.equal(new Date(v).getUTCMonth(), 0);
});

test("datetime labels", () => {
  const t = utc(2024, 2, 5, 14, 7, 30, 125);
  assert.deepEqual(formatDatetime([utc(2024, 0, 1)], "year"), ["2024"]);
  assert.deepEqual(formatDatetime([utc(2024, 2, 1)], "month"), ["Mar 2024"]);
  assert.deepEqual(formatDatetime([utc(2024, 2, 5)], "day"), ["Mar 05"]);
  assert.deepEqual(formatDatetime([utc(2024, 2, 5, 14)], "h"), ["14:00"]);
  assert.deepEqual(formatDatetime([utc(2024, 2, 5)], "h"), ["Mar 05"]); // midnight shows the date
  assert.deepEqual(formatDatetime([t], "s"), ["14:07:30"]);
  assert.deepEqual(formatDatetime([t], "ms"), ["14:07:30.125"]);
  assert.deepEqual(formatDatetime([t + 0.5], "ms", 0.5), ["14:07:30.1255"]);
  void DAY; void HOUR; void MINUTE; void SECOND;
});

test("categorical ticks at factor centres", () => {
  const t = categoricalTicks(["a", "b", "c"], 0, 3);
  assert.deepEqual(t.major, [0.5, 1.5, 2.5]);
  assert.deepEqual(t.labels, ["a", "b", "c"]);
});

test("tooltip value formatting", () => {
  assert.equal(formatValue(3), "3");
  assert.equal(formatValue(0.1 + 0.2), "0.3");
  assert.equal(formatValue(1.5e9 + 0.5), "1.500e+9");
  assert.equal(formatValue("x"), "x");
  assert.equal(formatValue(NaN), "NaN");
});

test("numeral and printf tick formatters", async () => {
  const { formatNumeral, formatPrintf } = await import("../../python/docsync/static/plot/ticks.js");
  assert.equal(formatNumeral(1234567, "0,0"), "1,234,567");
  assert.equal(formatNumeral(3.14159, "0.00"), "3.14");
  assert.equal(formatNumeral(0.256, "0.0%"), "25.6%");
  assert.equal(formatNumeral(1234.5, "$0,0.00"), "$1,234.50");
  assert.equal(formatNumeral(2500000, "0.0a"), "2.5m");
  assert.equal(formatNumeral(-1200, "(0,0)"), "(1,200)");
  assert.equal(formatNumeral(-5, "0"), "-5");
  assert.equal(formatPrintf(3.14159, "%.2f"), "3.14");
  assert.equal(formatPrintf(42, "%d items"), "42 items");
  assert.equal(formatPrintf(5, "%5.1f%%"), "  5.0%");
  assert.equal(formatPrintf(12345, "%.2e"), "1.23e+4");
});
