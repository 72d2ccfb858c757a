import { describe, expect, it } from 'vitest';
import { formatClock, formatTimestamp, toSrt, toText, toVtt } from './subtitles';

describe('formatTimestamp', () => {
  it('formats hours, minutes, seconds and milliseconds', () => {
    expect(formatTimestamp(0)).toBe('00:00:00,000');
    expect(formatTimestamp(3.5)).toBe('00:00:03,500');
    expect(formatTimestamp(61.0421)).toBe('00:01:01,042');
    expect(formatTimestamp(3723.4, '.')).toBe('01:02:03.400');
    expect(formatTimestamp(36000)).toBe('10:00:00,000');
  });

  it('rounds to the millisecond, carrying into seconds', () => {
    expect(formatTimestamp(1.9996)).toBe('00:00:02,000');
    expect(formatTimestamp(59.9999, '.')).toBe('00:01:00.000');
  });

  it('never goes negative or NaN', () => {
    expect(formatTimestamp(-1)).toBe('00:00:00,000');
    expect(formatTimestamp(Number.NaN)).toBe('00:00:00,000');
  });
});

describe('formatClock', () => {
  it('shows M:SS.s and H:MM:SS.s', () => {
    expect(formatClock(0)).toBe('0:00.0');
    expect(formatClock(2.04)).toBe('0:02.0');
    expect(formatClock(65.25)).toBe('1:05.3');
    expect(formatClock(3661)).toBe('1:01:01.0');
  });
});

const segments = [
  { id: 0, start: 0, end: 2.5, text: ' What time is it?' },
  { id: 1, start: 2.5, end: 3.9999, text: 'It is three.  ' },
];

describe('toSrt', () => {
  it('numbers the cues and uses commas', () => {
    expect(toSrt(segments)).toBe('1\n00:00:00,000 --> 00:00:02,500\nWhat time is it?\n\n2\n00:00:02,500 --> 00:00:04,000\nIt is three.\n');
  });

  it('drops empty segments and renumbers; never ends before it starts', () => {
    const srt = toSrt([{ start: 0, end: 1, text: '  ' }, { start: 5, end: 4, text: 'x' }]);
    expect(srt).toBe('1\n00:00:05,000 --> 00:00:05,000\nx\n');
  });

  it('keeps a cue together (no blank line inside)', () => {
    expect(toSrt([{ start: 0, end: 1, text: 'a\n\n\nb' }])).toBe('1\n00:00:00,000 --> 00:00:01,000\na\nb\n');
  });
});

describe('toVtt', () => {
  it('starts with the WEBVTT header and uses dots', () => {
    expect(toVtt(segments)).toBe('WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nWhat time is it?\n\n00:00:02.500 --> 00:00:04.000\nIt is three.\n');
  });

  it('is just the header with no segments', () => {
    expect(toVtt([])).toBe('WEBVTT\n');
  });

  it('escapes the cue arrow inside text', () => {
    expect(toVtt([{ start: 0, end: 1, text: 'a --> b' }])).toContain('\na -> b\n');
  });
});

describe('toText', () => {
  it('joins the segments with spaces', () => {
    expect(toText(segments)).toBe('What time is it? It is three.\n');
    expect(toText([])).toBe('');
  });
});
